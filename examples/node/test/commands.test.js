'use strict';

// smtplib's low-level commands, the capabilities, and the settings beyond TLS, against Postfix.
const test = require('node:test');
const assert = require('node:assert/strict');
const { smtp, bed, newSession, loggedIn, marker, mailText, delivered } = require('./helpers');

test('a transaction command by command: each reply whatever its code', async (t) => {
  const s = await loggedIn(t);
  assert.equal((await s.mail('alice@example.test', ['BODY=8BITMIME'])).code, 250);
  assert.equal((await s.rcpt('bob@example.test')).code, 250);
  const refused = await s.rcpt('reject550@example.test');
  assert.equal(refused.code, 550);
  assert.match(refused.text, /5\.1\.1/);
  const m = marker(t.name);
  assert.equal((await s.data(mailText(m))).code, 250);
  assert.deepEqual((await s.recipients()).map((r) => r.accepted), [true, false]);
  await delivered(bed.postfixMaildir, m);
  assert.equal((await s.rset()).code, 250);
  assert.equal((await s.docmd('NOOP')).code, 250);
  assert.equal(Math.floor((await s.docmd('XNOSUCH', 'arg')).code / 100), 5);
  await assert.rejects(s.docmd('NOOP', 'a\r\nQUIT'), smtp.UsageError);
  // Postfix: VRFY 252 for a known user, 550 for an unknown one; EXPN and HELP unknown (500).
  assert.equal((await s.verify('Bob <bob@example.test>')).code, 252);
  assert.equal((await s.verify('nobody@example.test')).code, 550);
  assert.equal((await s.expn('bob@example.test')).code, 500);
  assert.equal((await s.help()).code, 500);
});

test('EHLO and HELO by hand, the capabilities, disconnect', async (t) => {
  const s = newSession(t);
  await s.connect(bed.host, bed.port);
  assert.equal((await s.capabilities()).ehloResp, null);
  assert.equal((await s.ehlo('client.example.test')).code, 250);
  const caps = await s.capabilities();
  assert.equal(caps.esmtp, true);
  assert.match(caps.ehloResp, /PIPELINING/);
  assert.equal(caps.features.size, '10485760');
  assert.match(caps.features.auth, /PLAIN/);
  assert.equal(await s.feature('SIZE'), '10485760');
  assert.equal(await s.feature('XNOSUCH'), null);
  assert.equal(await s.hasExtension('starttls'), true);
  assert.equal(await s.hasExtension('XNOSUCH'), false);
  assert.equal((await s.helo()).code, 250);
  assert.ok((await s.capabilities()).heloResp);
  await s.ehloOrHeloIfNeeded();
  await s.disconnect();
  assert.equal((await s.state()).connected, false);
  await s.connect(bed.host, bed.port);
  assert.equal((await s.state()).connected, true);
});

test('settings: source address, no pipelining or chunking, smtplib login order', async (t) => {
  assert.throws(() => new smtp.Session({ loginMechanisms: ['PLAIN', 'NOSUCH'] }), smtp.UsageError);
  assert.throws(() => new smtp.Session({ loginMechanisms: ['PLAIN LOGIN'] }), TypeError);
  const trace = [];
  const s = newSession(t, {
    tls: { caFile: bed.caFile },
    sourceAddress: { host: '127.0.0.1' },
    pipelining: false,
    chunking: false,
    loginMechanisms: ['CRAM-MD5', 'PLAIN', 'LOGIN'],
    debug: (_kind, data) => trace.push(data.toString()),
  });
  await s.connect(bed.host, bed.port);
  await s.starttls();
  await s.login(bed.user, bed.password);
  assert.ok(trace.some((l) => l.includes('AUTH CRAM-MD5')), 'login did not start with CRAM-MD5');
  const m = marker(t.name);
  await s.sendmail('alice@example.test', ['bob@example.test'], mailText(m));
  assert.ok(!trace.some((l) => l.includes('BDAT')), 'BDAT used with chunking off');
  await delivered(bed.postfixMaildir, m);
});

test('credentials: refused in clear to an untrusted local peer, then allowed', async (t) => {
  const s = newSession(t, { localPeerTrusted: false });
  await s.connect(bed.host, bed.port);
  await assert.rejects(s.login(bed.user, bed.password), (err) => err.result === smtp.Result.CREDENTIALS_POLICY);
  const allowed = newSession(t, { localPeerTrusted: false, cleartextCredentials: true });
  await allowed.connect(bed.host, bed.port);
  await allowed.login(bed.user, bed.password);
  assert.equal((await allowed.state()).authenticated, true);
});

test('loginOAuth: Postfix offers no OAuth mechanism; a malformed token is refused', async (t) => {
  const s = newSession(t, { tls: { caFile: bed.caFile } });
  await s.connect(bed.host, bed.port);
  await s.starttls();
  await assert.rejects(s.loginOAuth('alice@example.test', 'ya29.token'), (err) => {
    assert.equal(err.result, smtp.Result.SMTP_ERROR);
    assert.match(err.message, /XOAUTH2/);
    return true;
  });
  await assert.rejects(s.loginOAuth('alice', 'not a token', { mechanism: 'oauthbearer' }), smtp.UsageError);
  assert.throws(() => s.loginOAuth('alice', 'token', { mechanism: 'gssapi' }), RangeError);
});
