'use strict';

// Connection strings: the url option, connect() and login() without arguments.
const test = require('node:test');
const assert = require('node:assert/strict');
const { smtp, bed, newSession, marker, mailText, delivered } = require('./helpers');

test('smtp+starttls:// url: connect, STARTTLS, login with its credentials, send', async (t) => {
  const s = newSession(t, { url: `smtp+starttls://${bed.user}:${bed.password}@${bed.host}:${bed.port}`, tls: { caFile: bed.caFile } });
  await s.connect();
  assert.equal((await s.state()).tlsActive, false);
  await s.login(); // the url's policy (required): STARTTLS first
  const state = await s.state();
  assert.deepEqual([state.tlsActive, state.tlsPeerVerified, state.authenticated], [true, true, true]);
  const m = marker(t.name);
  const [bob] = await s.sendmail('alice@example.test', ['bob@example.test'], mailText(m));
  assert.equal(bob.accepted, true);
  await s.quit();
  await delivered(bed.postfixMaildir, m);
});

test('lmtp+unix:// url makes an LMTP session', async (t) => {
  const s = newSession(t, { url: `lmtp+unix://${bed.lmtpSocket}` });
  await s.connect();
  const m = marker(t.name);
  const [bob] = await s.sendmail('alice@example.test', ['bob@example.test'], mailText(m));
  assert.equal(bob.dataCode, 250);
  await s.quit();
  await delivered(bed.lmtpMaildir, m);
});

test('url errors: a UsageError naming the part, never the password', async (t) => {
  assert.throws(() => newSession(t, { url: 'smtp://alice:hunter2-secret@mail.example.org:99999' }), (err) => {
    assert.ok(err instanceof smtp.UsageError);
    assert.match(err.message, /port/);
    assert.doesNotMatch(err.message, /hunter2-secret/);
    return true;
  });
  assert.throws(() => newSession(t, { kind: 'smtp', url: `smtps://${bed.host}` }), (err) => err instanceof smtp.UsageError && /scheme/.test(err.message));
  assert.throws(() => newSession(t, { url: `imap://${bed.host}` }), smtp.UsageError);
  assert.throws(() => newSession(t, { url: 'smtp://h\0ost' }), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(newSession(t).connect(), smtp.UsageError); // no url
  const s = newSession(t, { url: `smtp://${bed.host}:${bed.port}` });
  await s.connect();
  await assert.rejects(s.login(), (err) => err instanceof smtp.UsageError && err.isA(smtp.Result.INVALID_ARGUMENT));
  assert.throws(() => s.login('alice'), TypeError);
  assert.equal(smtp.Result.IN_PROGRESS, 1);
});
