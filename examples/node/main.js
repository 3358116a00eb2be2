// The Node consumer: STARTTLS, login, a message to two recipients of which one is refused, the
// refused list, delivery checked in the Maildir, then AUTH PLAIN through a JS callback.
//
// Settings from the environment (defaults for the test bed of tests/servers/up.sh):
// SMTP_HOST (localhost), SMTP_PORT (2525), SMTP_CA_FILE, SMTP_USER (alice), SMTP_PASS
// (alice-pass), POSTFIX_MAILDIR (bob's Maildir is $POSTFIX_MAILDIR/bob).
//
// Run: npm ci --no-audit --no-fund && LD_LIBRARY_PATH=<prefix>/lib node main.js
// Exit status: 0 when every step worked, 1 otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const smtp = require('./smtpclient');

const env = (name, fallback) => process.env[name] || fallback;

function check(condition, what) {
  if (!condition) throw new Error(what);
}

// The file of dir that contains marker, or null after timeoutMs (polls without blocking I/O).
async function waitForMarker(dir, marker, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let names = [];
    try { names = fs.readdirSync(dir); } catch (_) { /* not there yet */ }
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        if (fs.readFileSync(file).includes(marker)) return file;
      } catch (_) { /* moved away meanwhile */ }
    }
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main() {
  const host = env('SMTP_HOST', 'localhost');
  const port = Number(env('SMTP_PORT', '2525'));
  const ca = env('SMTP_CA_FILE', '/tmp/smtpclient-testbed/tls/ca.crt');
  const user = env('SMTP_USER', 'alice');
  const pass = env('SMTP_PASS', 'alice-pass');
  const maildir = env('POSTFIX_MAILDIR', '/tmp/smtpclient-testbed/mail/postfix');
  const marker = `node-${process.pid}-${Math.floor(Date.now() / 1000)}`;

  console.log(`library ${smtp.libraryVersion()}, binding written for ABI 0.2 (node ${process.version}, koffi ${smtp.koffiVersion})`);
  check(Math.floor(smtp.libraryVersionNumber() / 100) === Math.floor(smtp.ABI_VERSION_NUMBER / 100),
    'the library is not a 0.2.x release');

  const s = new smtp.Session();
  try {
    s.setTimeoutMs(30000);
    s.setTlsCaFile(ca);
    s.connect(host, port);
    console.log(`connected to ${host}:${port}`);
    s.starttls();
    check(s.tlsActive && s.tlsPeerVerified, 'STARTTLS: TLS not active or peer not verified');
    console.log(`STARTTLS: ${s.tlsVersion} ${s.tlsCipher}, certificate verified against ${ca}`);
    s.login(user, pass);
    console.log(`logged in as ${user} (smtp_client_login)`);

    const msg = 'From: <alice@example.test>\r\n' +
      'To: <bob@example.test>, <reject550@example.test>\r\n' +
      `Subject: libsmtpclient Node example ${marker}\r\n` +
      '\r\n' +
      'Sent by examples/node through koffi.\r\n';
    s.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], msg);
    const refused = s.refused();
    for (const r of refused) console.log(`refused: ${r.address} ${r.code} ${r.text}`);
    check(refused.length === 1 && refused[0].address === 'reject550@example.test' && refused[0].code === 550,
      'expected exactly reject550@example.test refused with 550');
    console.log(`sent to bob@example.test (marker ${marker})`);
    s.quit();
  } finally {
    s.close();
  }

  const file = await waitForMarker(path.join(maildir, 'bob', 'new'), marker, 30000);
  check(file, "the message did not arrive in bob's Maildir within 30 s");
  console.log(`delivered: ${file}`);

  const s2 = new smtp.Session();
  try {
    s2.setTlsCaFile(ca);
    s2.connect(host, port);
    s2.starttls();
    let calls = 0;
    s2.auth('PLAIN', (_challenge, isInitial, tlsActive) => {
      calls++;
      if (!isInitial || !tlsActive) throw new Error(`unexpected step (initial ${isInitial}, TLS ${tlsActive})`);
      return Buffer.from(`\0${user}\0${pass}`, 'utf8');
    });
    console.log(`AUTH PLAIN through a callback: ${s2.lastReplyCode} ${s2.lastReplyText} (callback called ${calls} time(s))`);
    check(calls === 1 && s2.lastReplyCode === 235, 'AUTH PLAIN through the callback: want one call and 235');
    s2.quit();
  } finally {
    s2.close();
  }
  console.log('Node example: all steps passed');
}

main().catch((e) => {
  console.error(`FAILED: ${e.stack || e}`);
  process.exit(1);
});
