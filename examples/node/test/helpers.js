// Shared set-up of the package's tests; the test bed's settings come from the environment.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const smtp = require('..');

const env = (name, fallback) => process.env[name] || fallback;
const bed = {
  host: env('SMTP_HOST', 'localhost'),
  port: Number(env('SMTP_PORT', '2525')),
  caFile: env('SMTP_CA_FILE', '/tmp/smtpclient-testbed/tls/ca.crt'),
  user: env('SMTP_USER', 'alice'),
  password: env('SMTP_PASS', 'alice-pass'),
  lmtpSocket: env('LMTP_SOCKET', '/tmp/smtpclient-testbed/dovecot/lmtp.sock'),
  postfixMaildir: env('POSTFIX_MAILDIR', '/tmp/smtpclient-testbed/mail/postfix'),
  lmtpMaildir: env('LMTP_MAILDIR', '/tmp/smtpclient-testbed/mail/lmtp'),
};

// A session closed when the test ends.
function newSession(t, options = {}) {
  const s = new smtp.Session({ timeoutMs: 30000, ...options });
  t.after(() => s.close());
  return s;
}

async function loggedIn(t) {
  const s = newSession(t, { tls: { caFile: bed.caFile } });
  await s.connect(bed.host, bed.port);
  await s.starttls();
  await s.login(bed.user, bed.password);
  return s;
}

const marker = (name) => `node-${name.replace(/\W+/g, '-')}-${process.pid}-${Date.now()}`;
const mailText = (m) => `From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: ${m}\r\n\r\nSent by the Node package's tests.\r\n`;

function files(dir) {
  let out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out = out.concat(e.isDirectory() ? files(p) : [p]);
  }
  return out;
}

// Resolves when a file under dir holds m; rejects after 30 s.
async function delivered(dir, m) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const found = files(dir).some((f) => { try { return fs.readFileSync(f).includes(m); } catch { return false; } });
    if (found) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${m} not delivered into ${dir} within 30 s`);
}

module.exports = { smtp, bed, newSession, loggedIn, marker, mailText, delivered };
