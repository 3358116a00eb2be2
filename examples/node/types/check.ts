// Type-checked (never run) by `npx tsc --noEmit -p types` and by examples/run-consumers.sh
// against the installed package: a program using the whole API must compile under strict
// mode, and each misuse marked @ts-expect-error must be a type error (an unused marker is one
// too, so index.d.ts cannot silently become too loose).
import { Readable } from 'node:stream';
import * as smtp from 'smtpclient';

async function main(): Promise<void> {
  const s = new smtp.Session({
    kind: 'smtp',
    timeoutMs: 30000,
    rfc5321Timeouts: true,
    phaseTimeoutsMs: { greeting: 10000, dataEnd: 600000 },
    operationTimeoutMs: 900000,
    tls: { caFile: 'ca.crt', policy: 'required', minVersion: 'tls13' },
    debug: (kind: smtp.DebugKind, data: Buffer) => console.log(kind, data.length),
    pipelining: false,
    chunking: true,
    cleartextCredentials: false,
    localPeerTrusted: true,
    loginMechanisms: ['CRAM-MD5', 'PLAIN', 'LOGIN'],
    sourceAddress: { host: '127.0.0.1' },
  });
  try {
    await s.connect('mail.example.org', 587);
    const greeting: smtp.Reply = await s.ehlo();
    const caps: smtp.Capabilities = await s.capabilities();
    const size: string | null = await s.feature('SIZE');
    const tls: boolean = await s.hasExtension('STARTTLS');
    console.log(greeting.code, greeting.text, caps.esmtp, caps.features.auth, caps.ehloResp, size, tls);
    await s.starttls();
    await s.login('alice', 'secret', { initialResponse: false });
    await s.loginOAuth('alice', 'ya29.token', { mechanism: 'oauthbearer' });
    await s.auth('PLAIN', (challenge: Buffer | null, tlsActive: boolean) =>
      challenge === null && tlsActive ? Buffer.from('\0alice\0secret') : smtp.NO_INITIAL_RESPONSE);
    const sent: smtp.Recipient[] = await s.sendmail('alice@example.org', ['bob@example.org'], 'Subject: x\r\n\r\nx\r\n',
      { mailOptions: ['BODY=8BITMIME'], rcptOptions: ['NOTIFY=FAILURE'] });
    const dsn: smtp.DsnOptions = {
      ret: 'hdrs', envid: 'order-1', policy: 'optional',
      notify: { 'bob@example.org': ['success', 'failure'], 'carol@example.org': 'never' },
      orcpt: { 'bob@example.org': 'bob@old.example.org' },
    };
    await s.sendmail('alice@example.org', ['bob@example.org'], 'x', { dsn, requireTls: true });
    const status: smtp.EnhancedStatus | null = sent[0].enhancedStatus;
    console.log(sent[0].accepted, sent[0].rcptCode, sent[0].dataCode, status?.toString());
    await s.sendMessage(Buffer.from('From: a@b\r\nTo: c@d\r\n\r\nx\r\n'), { from: null, to: null });
    await s.sendmailStream('alice@example.org', ['bob@example.org'], Readable.from(['Subject: x\r\n\r\n', 'body\r\n']),
      { sizeEstimate: 20 });
    async function* parts(): AsyncGenerator<string> { yield 'Subject: y\r\n\r\ny\r\n'; }
    await s.sendmailStream('alice@example.org', ['bob@example.org'], parts());
    const replies: smtp.Reply[] = [
      await s.mail('alice@example.org', ['SMTPUTF8']), await s.rcpt('bob@example.org'), await s.data('x\r\n'),
      await s.rset(), await s.verify('bob'), await s.expn('list'), await s.help(), await s.docmd('NOOP', null),
      await s.helo('client.example.org'),
    ];
    console.log(replies.map((r) => r.code), (await s.recipients()).length, (await s.refused()).map((r) => r.code));
    await s.ehloOrHeloIfNeeded();
    const state: smtp.SessionState = await s.state();
    console.log(state.tlsVersion, smtp.libraryVersion(), smtp.libraryVersionNumber() >= smtp.ABI_VERSION_NUMBER);
    await s.noop();
    await s.quit();
    await s.disconnect();
  } catch (e) {
    if (e instanceof smtp.SenderRefusedError) console.log(e.sender, e.replyCode, e.isA(smtp.Result.RESPONSE_ERROR));
    else if (e instanceof smtp.SmtpError) console.log(e.resultName, e.recipients.length, e.enhancedStatus?.class);
    else throw e;
  } finally {
    await s.close();
  }

  const u = new smtp.Session({ url: 'smtp+starttls://alice:secret@mail.example.org', tls: { caFile: 'ca.crt' } });
  await u.connect();
  await u.login();
  console.log(smtp.Result.IN_PROGRESS);
  await u.close();

  // Misuses the declarations must refuse.
  // @ts-expect-error: a user needs a password
  await u.login('alice');
  // @ts-expect-error: the url is a string
  new smtp.Session({ url: new URL('smtp://x') });
  // @ts-expect-error: an unknown session kind
  new smtp.Session({ kind: 'imap' });
  // @ts-expect-error: the mechanisms are a list
  new smtp.Session({ loginMechanisms: 'PLAIN LOGIN' });
  // @ts-expect-error: the OAuth mechanism is one of two names
  await s.loginOAuth('alice', 'token', { mechanism: 'gssapi' });
  // @ts-expect-error: a body is not a number
  await s.sendmailStream('a@b', ['c@d'], 42);
  // @ts-expect-error: a reply code is a number
  const text: string = (await s.noop(), (await s.rset()).code);
  // @ts-expect-error: recipients are a list
  await s.sendmail('a@b', 'c@d', 'x');
  // @ts-expect-error: an unknown phase
  new smtp.Session({ phaseTimeoutsMs: { lunch: 1000 } });
  // @ts-expect-error: an unknown NOTIFY flag
  await s.sendmail('a@b', ['c@d'], 'x', { dsn: { notify: { 'c@d': ['sometimes'] } } });
  // @ts-expect-error: RET is 'full' or 'hdrs'
  await s.sendmail('a@b', ['c@d'], 'x', { dsn: { ret: 'body' } });
  console.log(text);
}

main().catch(console.error);
