// A string argument holding a NUL character is refused with a TypeError naming the argument,
// before the C library is called; it is never truncated at the NUL.
//
// 'sendmail refuses a NUL in a recipient' needs the test bed's Postfix (SMTP_HOST, default
// localhost; SMTP_PORT, default 2525).
//
// Run: npm ci --no-audit --no-fund && LD_LIBRARY_PATH=<prefix>/lib node nul_test.js
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const smtp = require('./smtpclient');

const host = process.env.SMTP_HOST || 'localhost';
const port = Number(process.env.SMTP_PORT || '2525');
const BAD = 'a@b\0x';

function assertRefused(argument, call) {
  assert.throws(call, (err) => {
    assert.ok(err instanceof TypeError, `not a TypeError: ${err}`);
    assert.equal(err.code, 'ERR_INVALID_ARG_VALUE');
    assert.ok(err.message.includes(`'${argument}' contains a NUL`), `the message does not name ${argument}: ${err.message}`);
    return true;
  }, `${argument}: nothing thrown (the string was passed on, cut at the NUL)`);
}

function withSession(fn) {
  const s = new smtp.Session();
  try {
    fn(s);
  } finally {
    s.close();
  }
}

// 'localhost' is what C would see of this host: without the check, connect() would succeed.
test('connect refuses a NUL in the host', () => withSession((s) => {
  assertRefused('host', () => s.connect('localhost\0.invalid', port));
}));

// Refused before anything is sent, and the session stays usable.
test('sendmail refuses a NUL in a recipient', () => withSession((s) => {
  s.setTimeoutMs(30000);
  s.connect(host, port);
  assert.equal(s.lastReplyCode, 220);
  assertRefused('to[1]', () => s.sendmail('alice@example.test', ['bob@example.test', BAD], 'Subject: x\r\n\r\nx\r\n'));
  // Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
  assert.equal(s.lastReplyCode, 220, 'a command was sent');
  s.noop();
  assert.equal(s.lastReplyCode, 250);
  s.quit();
}));

// Every other string argument of the binding goes through the same check.
test('every string argument is checked', () => withSession((s) => {
  assertRefused('path', () => s.setTlsCaFile(BAD));
  assertRefused('user', () => s.login(BAD, 'pass'));
  assertRefused('password', () => s.login('user', BAD));
  assertRefused('mechanism', () => s.auth(BAD, () => assert.fail('the callback must not run')));
  assertRefused('from', () => s.sendmail(BAD, ['bob@example.test'], 'x'));
}));
