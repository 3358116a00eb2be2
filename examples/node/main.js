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
const smtp = require('.');

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

  const s = new smtp.Session({ timeoutMs: 30000, tls: { caFile: ca } });
  try {
    await s.connect(host, port);
    console.log(`connected to ${host}:${port}`);
    await s.starttls();
    const state = await s.state();
    check(state.tlsActive && state.tlsPeerVerified, 'STARTTLS: TLS not active or peer not verified');
    console.log(`STARTTLS: ${state.tlsVersion} ${state.tlsCipher}, certificate verified against ${ca}`);
    await s.login(user, pass);
    console.log(`logged in as ${user} (smtp_client_login)`);

    const msg = 'From: <alice@example.test>\r\n' +
      'To: <bob@example.test>, <reject550@example.test>\r\n' +
      `Subject: libsmtpclient Node example ${marker}\r\n` +
      '\r\n' +
      'Sent by examples/node through koffi.\r\n';
    await s.sendmail('alice@example.test', ['bob@example.test', 'reject550@example.test'], msg);
    const refused = await s.refused();
    for (const r of refused) console.log(`refused: ${r.address} ${r.code} ${r.text}`);
    check(refused.length === 1 && refused[0].address === 'reject550@example.test' && refused[0].code === 550,
      'expected exactly reject550@example.test refused with 550');
    console.log(`sent to bob@example.test (marker ${marker})`);
    await s.quit();
  } finally {
    await s.close();
  }

  const file = await waitForMarker(path.join(maildir, 'bob', 'new'), marker, 30000);
  check(file, "the message did not arrive in bob's Maildir within 30 s");
  console.log(`delivered: ${file}`);

  const s2 = new smtp.Session({ timeoutMs: 30000, tls: { caFile: ca } });
  try {
    await s2.connect(host, port);
    await s2.starttls();
    let calls = 0;
    await s2.auth('PLAIN', (challenge, tlsActive) => {
      calls++;
      if (challenge !== null || !tlsActive) throw new Error(`unexpected step (challenge ${challenge}, TLS ${tlsActive})`);
      return Buffer.from(`\0${user}\0${pass}`, 'utf8');
    });
    const { lastReplyCode, lastReplyText } = await s2.state();
    console.log(`AUTH PLAIN through a callback: ${lastReplyCode} ${lastReplyText} (callback called ${calls} time(s))`);
    check(calls === 1 && lastReplyCode === 235, 'AUTH PLAIN through the callback: want one call and 235');
    await s2.quit();
  } finally {
    await s2.close();
  }
  console.log('Node example: all steps passed');
}

main().catch((e) => {
  console.error(`FAILED: ${e.stack || e}`);
  process.exit(1);
});
