'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { smtp, bed, newSession, loggedIn, marker, mailText, delivered } = require('./helpers');

test('error classes follow the library hierarchy (smtp_result_is_a)', () => {
  for (const [code, Class] of smtp.ERROR_CLASSES) {
    assert.equal(smtp.errorClassFor(code), Class);
    for (const [otherCode, Other] of smtp.ERROR_CLASSES) {
      const isA = Class === Other || Class.prototype instanceof Other;
      assert.equal(isA, smtp.errorClassFor(code) && new Class(code, 'x').isA(otherCode), `${Class.name} vs ${Other.name}`);
    }
  }
  assert.equal(smtp.errorClassFor(smtp.Result.CONNECTION_REFUSED), smtp.IoError);
  assert.equal(smtp.errorClassFor(12345), smtp.SmtpError);
});

test('sendmail resolves with every recipient, and the message arrives', async (t) => {
  const s = await loggedIn(t);
  const m = marker(t.name);
  const [bob, rejected] = await s.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], mailText(m));
  assert.deepEqual([bob.address, bob.rcptCode, bob.accepted], ['bob@example.test', 250, true]);
  assert.deepEqual([rejected.rcptCode, String(rejected.enhancedStatus), rejected.accepted], [550, '5.1.1', false]);
  assert.deepEqual((await s.refused()).map((r) => [r.address, r.code]), [['reject550@example.test', 550]]);
  await s.quit();
  await delivered(bed.postfixMaildir, m);
});

test('a refused sender rejects with SenderRefusedError carrying the reply', async (t) => {
  const s = await loggedIn(t);
  await assert.rejects(s.sendmail('reject553@example.test', ['bob@example.test'], mailText('x')), (err) => {
    assert.ok(err instanceof smtp.SenderRefusedError && err instanceof smtp.ResponseError && err instanceof smtp.SmtpError);
    assert.ok(!(err instanceof smtp.RecipientsRefusedError));
    assert.equal(err.result, smtp.Result.SENDER_REFUSED);
    assert.equal(err.replyCode, 553);
    assert.equal(String(err.enhancedStatus), '5.7.1');
    assert.equal(err.sender, 'reject553@example.test');
    return true;
  });
  await s.noop(); // the transaction was reset
});

test('every recipient refused: RecipientsRefusedError with the recipients', async (t) => {
  const s = await loggedIn(t);
  await assert.rejects(s.sendmail('alice@example.test', ['reject550@example.test'], mailText('x')), (err) => {
    assert.ok(err instanceof smtp.RecipientsRefusedError && !(err instanceof smtp.ResponseError));
    assert.deepEqual(err.recipients.map((r) => [r.address, r.rcptCode]), [['reject550@example.test', 550]]);
    return true;
  });
});

test('connection refused is an IoError with the errno', async (t) => {
  await assert.rejects(newSession(t).connect('127.0.0.1', 1), (err) => {
    assert.ok(err instanceof smtp.IoError);
    assert.equal(err.result, smtp.Result.CONNECTION_REFUSED);
    assert.equal(err.errno, require('node:os').constants.errno.ECONNREFUSED);
    return true;
  });
});

test('send options are passed on and checked', async (t) => {
  const s = newSession(t);
  await assert.rejects(s.sendmail('a@example.test', ['bob@example.test'], 'x', { mailOptions: ['TWO WORDS'] }), smtp.UsageError);
  const m = marker(t.name);
  const text = `From: <alice@example.test>\r\nTo: <bob@example.test>\r\nBcc: reject550@example.test\r\nSubject: ${m}\r\n\r\nx\r\n`;
  const recipients = await (await loggedIn(t)).sendMessage(text, { mailOptions: ['BODY=8BITMIME'] });
  assert.deepEqual(recipients.map((r) => [r.address, r.accepted]), [['bob@example.test', true], ['reject550@example.test', false]]);
  await delivered(bed.postfixMaildir, m);
});

test('LMTP: one reply per recipient after the data', async (t) => {
  const s = newSession(t, { kind: 'lmtp' });
  await s.connect(bed.lmtpSocket);
  const m = marker(t.name);
  const [bob, full] = await s.sendmail('alice@example.test', ['bob@example.test', 'full@example.test'], mailText(m));
  assert.deepEqual([bob.rcptCode, bob.dataCode, bob.accepted], [250, 250, true]);
  assert.deepEqual([full.rcptCode, full.dataCode, full.accepted], [250, 552, false]);
  await s.quit();
  await delivered(bed.lmtpMaildir, m);
});

test('TLS: verified STARTTLS; an untrusted certificate is a TlsCertificateError', async (t) => {
  const s = newSession(t, { tls: { caFile: bed.caFile, policy: 'required', minVersion: 'tls12' } });
  await s.connect(bed.host, bed.port);
  await s.login(bed.user, bed.password); // the required policy does STARTTLS first
  const state = await s.state();
  assert.ok(state.tlsActive && state.tlsPeerVerified && state.authenticated);
  const untrusted = newSession(t);
  await untrusted.connect(bed.host, bed.port);
  await assert.rejects(untrusted.starttls(), (err) => err instanceof smtp.TlsCertificateError && err instanceof smtp.TlsError);
  assert.throws(() => newSession(t, { tls: { policy: 'sometimes' } }), RangeError);
});

test('AUTH step functions run on the main thread during the asynchronous call', async (t) => {
  const s = newSession(t, { tls: { caFile: bed.caFile } });
  await s.connect(bed.host, bed.port);
  await s.starttls();
  const challenges = [];
  await s.auth('LOGIN', (challenge) => {
    challenges.push(challenge.toString());
    return challenges.length === 1 ? bed.user : bed.password;
  }, { initialResponse: false });
  assert.deepEqual(challenges, ['Username:', 'Password:']);
  assert.ok((await s.state()).authenticated);
});

test('an exception in the AUTH step rejects the call with it', async (t) => {
  const s = newSession(t, { tls: { caFile: bed.caFile } });
  await s.connect(bed.host, bed.port);
  await s.starttls();
  const boom = new Error('no password stored');
  await assert.rejects(s.auth('PLAIN', () => { throw boom; }), (err) => err === boom);
  await assert.rejects(s.auth('PLAIN', () => `\0${bed.user}\0wrong`), smtp.AuthenticationError);
  await s.auth('PLAIN', () => `\0${bed.user}\0${bed.password}`);
});

test('the debug function sees the trace', async (t) => {
  const events = [];
  const s = newSession(t, { debug: (kind, data) => events.push([kind, data.toString()]) });
  await s.connect(bed.host, bed.port);
  await s.noop();
  assert.ok(events.some(([k, d]) => k === 'received' && d.startsWith('220')), JSON.stringify(events));
  assert.ok(events.some(([k, d]) => k === 'sent' && d.includes('NOOP')), JSON.stringify(events));
});

test('calls awaited at once are queued, never concurrent', async (t) => {
  const s = await loggedIn(t);
  await Promise.all(Array.from({ length: 8 }, () => s.noop()));
  assert.equal((await s.state()).lastReplyCode, 250);
});

// A server that delays every reply by 1 s: a send takes seconds, and a timer keeps firing
// meanwhile because the calls run on worker threads.
test('the event loop keeps running while a send waits on a slow server', async (t) => {
  const server = net.createServer((socket) => {
    const reply = (text) => setTimeout(() => socket.write(text), 1000);
    reply('220 slow.test ESMTP\r\n');
    let buffered = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let i;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        if (inData) {
          if (line === '.') { inData = false; reply('250 queued\r\n'); }
        } else if (/^EHLO/i.test(line)) reply('250 slow.test\r\n');
        else if (/^DATA/i.test(line)) { inData = true; reply('354 go on\r\n'); }
        else if (/^QUIT/i.test(line)) { reply('221 bye\r\n'); }
        else reply('250 ok\r\n');
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const s = newSession(t);
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 50);
  const started = Date.now();
  try {
    await s.connect('127.0.0.1', server.address().port);
    const [r] = await s.sendmail('alice@example.test', ['bob@example.test'], 'Subject: slow\r\n\r\nx\r\n');
    assert.ok(r.accepted);
  } finally {
    clearInterval(timer);
  }
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 4000, `the send took only ${elapsed} ms`);
  assert.ok(ticks >= elapsed / 50 / 2, `the timer fired ${ticks} times in ${elapsed} ms`);
  await s.quit();
});
