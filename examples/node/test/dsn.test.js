'use strict';

// DSN (RFC 3461) and REQUIRETLS (RFC 8689) through the send options, against the test bed.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { smtp, bed, newSession, loggedIn, marker, mailText, delivered } = require('./helpers');

async function connectedPlain(t) {
  const s = newSession(t);
  await s.connect(bed.host, bed.port);
  return s;
}

// The message of dir holding m, waited for up to 30 s.
async function mailWith(dir, m) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        const text = fs.readFileSync(path.join(dir, name), 'latin1');
        if (text.includes(m)) return text;
      } catch { /* moved to cur/ meanwhile */ }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no message with ${m} in ${dir} within 30 s`);
}

test('NOTIFY=SUCCESS brings alice a delivery status notification with the ENVID and ORCPT', async (t) => {
  const s = await loggedIn(t);
  const m = marker(t.name);
  const envid = `node-dsn ${process.pid}-${Date.now()}`; // ENVID: at most 100 characters
  const orcpt = `orig+${m}@example.test`;
  const [bob, rejected] = await s.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], mailText(m), {
    dsn: {
      ret: 'hdrs', envid,
      notify: { 'Bob@Example.test': ['success', 'failure'], 'reject550@example.test': 'never' },
      orcpt: { 'bob@example.test': orcpt },
    },
  });
  assert.equal(bob.accepted, true);
  assert.equal(rejected.accepted, false);
  await s.quit();
  await delivered(path.join(bed.postfixMaildir, 'bob'), m);
  const report = await mailWith(path.join(bed.postfixMaildir, 'alice', 'new'), envid);
  for (const want of ['report-type=delivery-status', `Original-Envelope-Id: ${envid}`,
    `Original-Recipient: rfc822;${orcpt}`, 'Action: delivered']) {
    assert.ok(report.includes(want), `the notification lacks ${want}:\n${report}`);
  }
});

test('bad DSN input is refused before anything is sent', async (t) => {
  const s = await connectedPlain(t);
  const send = (opts) => s.sendmail('alice@example.test', ['bob@example.test'], mailText('x'), opts);
  assert.throws(() => send({ dsn: { notify: { 'bob@example.test': 'sometimes' } } }), RangeError);
  assert.throws(() => send({ dsn: { ret: 'body' } }), RangeError);
  assert.throws(() => send({ dsn: { policy: 'maybe' } }), RangeError);
  assert.throws(() => send({ dsn: { envid: 'a\0b' } }), { code: 'ERR_INVALID_ARG_VALUE' });
  for (const opts of [
    { dsn: { notify: { 'bob@example.test': ['never', 'success'] } } },
    { dsn: { notify: { 'carol@example.test': 'success' } } },
    { dsn: { envid: 'a\tb' } },
    { dsn: { ret: 'full' }, mailOptions: ['RET=HDRS'] },
    { requireTls: true, mailOptions: ['REQUIRETLS'] },
  ]) {
    await assert.rejects(send(opts), (e) => e instanceof smtp.UsageError && e.result === smtp.Result.INVALID_ARGUMENT,
      JSON.stringify(opts));
  }
  assert.equal((await s.noop()), undefined);
});

test('REQUIRETLS over plain text rejects with TlsRequiredError before MAIL', async (t) => {
  const s = await connectedPlain(t);
  await assert.rejects(s.sendmail('alice@example.test', ['bob@example.test'], mailText('x'), { requireTls: true }),
    (e) => e instanceof smtp.TlsRequiredError && e.recipients.length === 0);
  assert.equal((await s.state()).connected, true);
  const m = marker(t.name);
  await s.sendmail('alice@example.test', ['bob@example.test'], mailText(m));
  await delivered(path.join(bed.postfixMaildir, 'bob'), m);
});
