'use strict';

// Per-phase and operation timeouts against a listener that accepts and never greets.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { smtp, newSession } = require('./helpers');

async function silentServer(t) {
  const sockets = [];
  const server = net.createServer((c) => sockets.push(c));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { sockets.forEach((c) => c.destroy()); server.close(); });
  return server.address().port;
}

async function timedConnect(s, port) {
  const start = process.hrtime.bigint();
  let error = null;
  try { await s.connect('127.0.0.1', port); } catch (e) { error = e; }
  return [Number(process.hrtime.bigint() - start) / 1e6, error];
}

test('a phase timeout fails connect with a TimeoutError naming the phase', async (t) => {
  const port = await silentServer(t);
  const s = newSession(t, { rfc5321Timeouts: true, phaseTimeoutsMs: { greeting: 300, dataEnd: 600000 } });
  const [ms, e] = await timedConnect(s, port);
  assert.ok(e instanceof smtp.TimeoutError, String(e));
  assert.match(e.message, /during the greeting \(the greeting timeout\)/);
  assert.ok(ms >= 250 && ms < 5000, `connect took ${ms} ms`);
  assert.throws(() => new smtp.Session({ phaseTimeoutsMs: { lunch: 1 } }), RangeError);
  assert.throws(() => new smtp.Session({ phaseTimeoutsMs: { mail: -1 } }), RangeError);
});

test('the operation timeout bounds the whole call', async (t) => {
  const port = await silentServer(t);
  const s = newSession(t, { phaseTimeoutsMs: { greeting: 0 }, operationTimeoutMs: 400 });
  const [ms, e] = await timedConnect(s, port);
  assert.ok(e instanceof smtp.TimeoutError, String(e));
  assert.match(e.message, /during the greeting \(the operation timeout\)/);
  assert.ok(ms >= 350 && ms < 5000, `connect took ${ms} ms`);
});
