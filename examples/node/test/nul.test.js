// A string argument holding a NUL character is refused with a TypeError naming the argument,
// before the C library is called; it is never truncated at the NUL.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { smtp, bed, newSession } = require('./helpers');

const BAD = 'a@b\0x';

function assertRefused(argument, call) {
  assert.throws(call, (err) => {
    assert.ok(err instanceof TypeError, `not a TypeError: ${err}`);
    assert.equal(err.code, 'ERR_INVALID_ARG_VALUE');
    assert.ok(err.message.includes(`'${argument}' contains a NUL`), `the message does not name ${argument}: ${err.message}`);
    return true;
  }, `${argument}: nothing thrown (the string was passed on, cut at the NUL)`);
}

// "localhost" is what C would see of this host: without the check, connect would succeed.
test('connect refuses a NUL in the host', (t) => {
  assertRefused('host', () => newSession(t).connect('localhost\0.invalid', bed.port));
});

// Refused before anything is sent, and the session stays usable.
test('sendmail refuses a NUL in a recipient', async (t) => {
  const s = newSession(t);
  await s.connect(bed.host, bed.port);
  assertRefused('to[1]', () => s.sendmail('alice@example.test', ['bob@example.test', BAD], 'Subject: x\r\n\r\nx\r\n'));
  // Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
  assert.equal((await s.state()).lastReplyCode, 220, 'a command was sent');
  await s.noop();
  assert.equal((await s.state()).lastReplyCode, 250);
  await s.quit();
});

test('every other string argument is checked', (t) => {
  const s = newSession(t);
  assertRefused('tls.caFile', () => new smtp.Session({ tls: { caFile: BAD } }));
  assertRefused('tls.serverName', () => new smtp.Session({ tls: { serverName: BAD } }));
  assertRefused('localHostname', () => new smtp.Session({ localHostname: BAD }));
  assertRefused('user', () => s.login(BAD, 'pass'));
  assertRefused('password', () => s.login('user', BAD));
  assertRefused('mechanism', () => s.auth(BAD, () => assert.fail('the step must not run')));
  assertRefused('from', () => s.sendmail(BAD, ['bob@example.test'], 'x'));
  assertRefused('mailOptions[0]', () => s.sendmail('a@b', ['bob@example.test'], 'x', { mailOptions: [BAD] }));
  assertRefused('to[0]', () => s.sendMessage('x', { to: [BAD] }));
});
