// The worker thread of Session.sendmailStream() (index.js): it makes the one blocking call
// smtp_client_sendmail_stream() on its own thread, so that the body's source (a Readable, an
// async iterable) keeps running on the main thread's event loop while the call pulls from it.
//
// The library calls the read callback on this thread, synchronously. For each read the callback
// posts the room it has to the main thread and waits (Atomics.wait: this thread only) until the
// main thread has put the next chunk into the shared buffer, or said "end" or "abort":
//   control[0]: WAITING (this thread asked), READY (control[1] bytes in `data`), END, ABORT.
// The session's own callbacks (debug) were registered on the main thread: koffi relays their
// calls from here to the main thread's event loop, which is free, and waits for them.
// This thread never uses the session otherwise; index.js queues no other call on it meanwhile.
'use strict';

const { parentPort, workerData } = require('node:worker_threads');
const koffi = require('koffi');

const WAITING = 1;
const READY = 2;
const END = 3;

const lib = koffi.load(workerData.library);
const ReadCallback = koffi.proto('int64_t smtpclient_stream_read(void *userdata, uint8_t *buf, size_t capacity)');
const C = {
  // The session and options handles arrive as addresses (BigInt): koffi 3 represents pointers so.
  smtp_client_sendmail_stream: lib.func('int32_t smtp_client_sendmail_stream(void *session, const char *from, ' +
    'const char **to, size_t n_to, smtpclient_stream_read *read, void *userdata, void *options)'),
};

const control = new Int32Array(workerData.control);
const data = new Uint8Array(workerData.data);

function read(_userdata, buf, capacity) {
  try {
    Atomics.store(control, 0, WAITING);
    parentPort.postMessage({ capacity: Math.min(Number(capacity), data.length) });
    Atomics.wait(control, 0, WAITING);
    const state = Atomics.load(control, 0);
    if (state === END) return 0;
    if (state !== READY) return -1; // ABORT: the main thread keeps the reason
    const n = control[1];
    new Uint8Array(koffi.view(buf, n)).set(data.subarray(0, n));
    return n;
  } catch (e) {
    parentPort.postMessage({ workerError: String(e && e.stack ? e.stack : e) });
    return -1; // nothing may unwind into the library
  }
}

const callback = koffi.register(read, koffi.pointer(ReadCallback));
let rc;
try {
  rc = C.smtp_client_sendmail_stream(workerData.session, workerData.from, workerData.to, workerData.to.length,
    callback, null, workerData.options);
} finally {
  koffi.unregister(callback); // the library keeps nothing once the call returned
}
parentPort.postMessage({ rc });
