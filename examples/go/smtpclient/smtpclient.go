// Package smtpclient is the Go binding of libsmtpclient (an SMTP, ESMTP and LMTP client written
// in Rust with a C API), through cgo and pkg-config. It has no dependency outside the standard
// library. Module: libsmtpclient.example/smtpclient (use it with a replace directive pointing at
// this directory, see docs/bindings.md).
//
// It needs the library installed where pkg-config finds it (PKG_CONFIG_PATH for a private
// prefix) and, at run time, where the dynamic loader finds it (LD_LIBRARY_PATH).
//
// # Contexts
//
// Network calls (Connect, StartTLS, Login, LoginOAuth, Auth, Sendmail, SendmailStream,
// SendMessage, the low-level commands Mail, Rcpt, Data, Docmd, ..., Noop, Quit) take a
// context.Context. A C call blocks and cannot be interrupted once it has started, so:
//   - a context that is already done makes the call return its error at once, sending nothing;
//   - a deadline becomes the library's operation timeout for that call (the smaller of the
//     remaining time and SetOperationTimeout's value), which bounds the whole call however
//     slowly the server answers, alongside each phase's own timeout (SetTimeout,
//     SetPhaseTimeout); a timeout at the deadline matches both ErrTimeout and
//     context.DeadlineExceeded;
//   - cancellation during a call takes effect before the next one. The session is not closed
//     from another goroutine on ctx.Done(): the library refuses any second concurrent call on a
//     session (SMTP_RESULT_CONCURRENT_CALL), closing included.
//
// # Errors
//
// Failures are *Error values carrying the result Code, the server's reply (code, text,
// enhanced status) and the OS error. errors.Is follows the library's result hierarchy:
// errors.Is(err, ErrResponse) holds for ErrSenderRefused. See Error.
//
// # Rules this binding follows (and code extending it must follow too)
//   - A Session owns its C handle; Close frees it (call it, e.g. with defer: there is no
//     finalizer). A Session is not safe for concurrent use; it may move between goroutines (and
//     so OS threads) between calls.
//   - Every string argument goes through cString, which refuses one holding a NUL byte with an
//     error wrapping ErrNULInString (C would read it only up to the NUL), before any C call.
//   - Strings the library returns are borrowed from the session: they are copied into Go
//     strings at once, before any other call on the session.
//   - C keeps no Go pointer: callback state travels as a runtime/cgo.Handle (an integer) in the
//     userdata argument. Go memory passed to C (message bytes, arrays of C strings) is used by C
//     only during the call.
//   - A Go panic must not unwind through the C library: the exported callbacks recover, and
//     the panic is raised again once the library call has returned.
package smtpclient

/*
#cgo pkg-config: smtpclient
#include <stdint.h>
#include <stdlib.h>
#include <smtpclient.h>

// Implemented in Go (callback.go, //export).
extern int32_t goSmtpAuthStep(void *userdata, uint8_t *challenge, size_t challenge_len,
                              _Bool is_initial, _Bool tls_active, smtp_auth_response *response);
extern void goSmtpDebug(void *userdata, int32_t kind, uint8_t *data, size_t len);
extern void goSmtpDebugFree(void *userdata);

// The cgo.Handle travels as the userdata integer, so no Go pointer ever reaches C.
static int32_t smtpclient_go_auth(smtp_client *s, const char *mechanism, uintptr_t handle,
                                  int32_t initial_response)
{
    return smtp_client_auth(s, mechanism, (smtp_auth_callback)goSmtpAuthStep, (void *)handle,
                            initial_response);
}

// The library calls goSmtpDebugFree exactly once, when the callback is replaced or the
// session freed: that is where the handle is deleted.
static int32_t smtpclient_go_set_debug(smtp_client *s, uintptr_t handle)
{
    return smtp_client_set_debug_callback(s, (smtp_debug_callback)goSmtpDebug, (void *)handle,
                                          goSmtpDebugFree);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime/cgo"
	"strings"
	"time"
	"unsafe"
)

// Kind is the protocol of a session (smtp_client_kind).
type Kind int32

const (
	KindSMTP  Kind = C.SMTP_CLIENT_KIND_SMTP  // SMTP / ESMTP, STARTTLS on request
	KindSMTPS Kind = C.SMTP_CLIENT_KIND_SMTPS // SMTP over implicit TLS (port 465)
	KindLMTP  Kind = C.SMTP_CLIENT_KIND_LMTP  // LMTP: one reply per recipient after the data
)

// LibraryVersion is the version of the library loaded at run time; HeaderVersion the one of
// the header this package was compiled against.
func LibraryVersion() string       { return C.GoString(C.smtp_lib_version()) }
func LibraryVersionNumber() uint32 { return uint32(C.smtp_lib_version_number()) }

const HeaderVersion = C.SMTPCLIENT_VERSION_STRING
const HeaderVersionNumber = uint32(C.SMTPCLIENT_VERSION_NUMBER)

// Session is one SMTP, SMTPS or LMTP client session. Not safe for concurrent use.
type Session struct {
	p         *C.smtp_client
	opTimeout time.Duration // SetOperationTimeout's value; a context deadline may shorten it per call
	debug     *debugState   // the registered debug callback, to re-raise its panics
}

// ErrSessionClosed is returned by calls on a Session after Close.
var ErrSessionClosed = errors.New("smtpclient: session is closed")

// New creates an unconnected session of the given kind. Close it when done.
func New(kind Kind) (*Session, error) {
	p := C.smtp_client_new(C.int32_t(kind))
	if p == nil {
		return nil, fmt.Errorf("smtpclient: unknown session kind %d", kind)
	}
	return &Session{p: p}, nil
}

// Close frees the session, closing the connection without QUIT. Calling it again is a no-op.
func (s *Session) Close() {
	if s.p != nil {
		C.smtp_client_free(s.p)
		s.p = nil
	}
}

// ErrNULInString is wrapped by the error returned when a string argument contains a NUL byte:
// the C library would read it only up to the NUL, so it is refused instead of being cut short.
// Test for it with errors.Is; the message names the argument (never its value).
var ErrNULInString = errors.New("string contains a NUL byte")

// cString is the one conversion of a string argument to C: a copy in C memory, which the
// caller frees with C.free.
func cString(argument, value string) (*C.char, error) {
	if at := strings.IndexByte(value, 0); at >= 0 {
		return nil, fmt.Errorf("smtpclient: %s: %w at offset %d (the C API would truncate it there)",
			argument, ErrNULInString, at)
	}
	return C.CString(value), nil
}

// cStrings converts a list of string arguments (named name[i] in errors). free releases what
// was converted, also after an error.
type cStrings []*C.char

func newCStrings(name string, values []string) (cStrings, error) {
	out := make(cStrings, len(values))
	for i, v := range values {
		c, err := cString(fmt.Sprintf("%s[%d]", name, i), v)
		if err != nil {
			out.free()
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// ptr is the C array: Go memory holding only C pointers, which cgo allows C to read during a call.
func (cs cStrings) ptr() **C.char {
	if len(cs) == 0 {
		return nil
	}
	return &cs[0]
}

func (cs cStrings) free() {
	for _, c := range cs {
		C.free(unsafe.Pointer(c)) // nil is a no-op
	}
}

// setting runs a setter: no network, no context.
func (s *Session) setting(op string, call func() C.smtp_result) error {
	if s.p == nil {
		return ErrSessionClosed
	}
	rc := call()
	s.raiseCallbackPanic()
	if rc != C.SMTP_RESULT_OK {
		return lastError(s.p, op, rc)
	}
	return nil
}

// network runs a call that talks to the server under ctx (see the package documentation).
func (s *Session) network(ctx context.Context, op string, call func() C.smtp_result) error {
	if s.p == nil {
		return ErrSessionClosed
	}
	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	timeout := s.opTimeout
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return contextError(op, context.DeadlineExceeded)
		}
		if timeout == 0 || remaining < timeout {
			timeout = remaining
		}
	}
	if rc := C.smtp_client_set_operation_timeout_ms(s.p, C.uint32_t(milliseconds(timeout))); rc != C.SMTP_RESULT_OK {
		return lastError(s.p, op, rc)
	}
	rc := call()
	s.raiseCallbackPanic()
	if rc == C.SMTP_RESULT_OK {
		return nil
	}
	e := lastError(s.p, op, rc)
	if e.Code.Is(ErrTimeout) && hasDeadline && !time.Now().Before(deadline) {
		e.deadline = context.DeadlineExceeded
	}
	return e
}

// milliseconds rounds up, so that a sub-millisecond remainder is not 0 ("wait forever").
func milliseconds(d time.Duration) uint32 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(ms)
}

// SetTimeout sets the timeout of every phase (see Phase): connecting, and each read and write
// (each reply must arrive whole within it); 0 means none. Default: 60 s.
func (s *Session) SetTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("smtpclient: negative timeout %v", d)
	}
	return s.setting("set_timeout", func() C.smtp_result {
		return C.smtp_client_set_timeout_ms(s.p, C.uint32_t(milliseconds(d)))
	})
}

// Phase is a phase of the conversation, each with its own timeout (smtp_phase).
type Phase int32

// The phases, with the timeouts RFC 5321 §4.5.3.2 gives those it names.
const (
	PhaseConnect      Phase = C.SMTP_PHASE_CONNECT       // opening the connection, name resolution included
	PhaseTLSHandshake Phase = C.SMTP_PHASE_TLS_HANDSHAKE // a TLS handshake, implicit or after STARTTLS
	PhaseGreeting     Phase = C.SMTP_PHASE_GREETING      // waiting for the 220 greeting (RFC 5321: 5 min)
	PhaseEHLO         Phase = C.SMTP_PHASE_EHLO          // EHLO, LHLO or HELO and its reply
	PhaseMail         Phase = C.SMTP_PHASE_MAIL          // MAIL and its reply (5 min)
	PhaseRcpt         Phase = C.SMTP_PHASE_RCPT          // RCPT and its reply (5 min)
	PhaseData         Phase = C.SMTP_PHASE_DATA          // DATA and its 354 reply (2 min)
	PhaseDataBlock    Phase = C.SMTP_PHASE_DATA_BLOCK    // each write of the message, each BDAT reply but the last (3 min)
	PhaseDataEnd      Phase = C.SMTP_PHASE_DATA_END      // the reply (LMTP: replies) to the end of the message (10 min)
	PhaseOther        Phase = C.SMTP_PHASE_OTHER         // every other command: STARTTLS, AUTH, RSET, NOOP, QUIT, ...
)

var phaseNames = [...]string{"connect", "TLS handshake", "greeting", "EHLO", "MAIL", "RCPT", "DATA",
	"data block", "final reply", "command"}

// String names the phase as the library's timeout messages do, e.g. "greeting".
func (p Phase) String() string {
	if p >= 0 && int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", int32(p))
}

// SetPhaseTimeout sets the timeout of one phase (0: none). A write has it from its last
// progress, a reply from the moment the session began waiting for it, an opening and a TLS
// handshake from their start. A timeout's error names the phase and the limit that applied.
// An unknown phase is ErrInvalidArgument.
func (s *Session) SetPhaseTimeout(phase Phase, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("smtpclient: negative timeout %v for phase %v", d, phase)
	}
	return s.setting("set_phase_timeout", func() C.smtp_result {
		return C.smtp_client_set_phase_timeout_ms(s.p, C.int32_t(phase), C.uint32_t(milliseconds(d)))
	})
}

// SetRFC5321Timeouts sets the timeouts RFC 5321 §4.5.3.2 gives the phases it names: greeting,
// MAIL and RCPT 5 minutes, DATA initiation 2, each data block 3, DATA termination 10. The
// other phases keep theirs.
func (s *Session) SetRFC5321Timeouts() error {
	return s.setting("set_rfc5321_timeouts", func() C.smtp_result {
		return C.smtp_client_set_rfc5321_timeouts(s.p)
	})
}

// SetOperationTimeout sets the total time one network call may take, whatever the phases'
// timeouts and however slowly the server sends (0, the default: no total). A context deadline
// nearer than it replaces it for that call.
func (s *Session) SetOperationTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("smtpclient: negative timeout %v", d)
	}
	err := s.setting("set_operation_timeout", func() C.smtp_result {
		return C.smtp_client_set_operation_timeout_ms(s.p, C.uint32_t(milliseconds(d)))
	})
	if err == nil {
		s.opTimeout = d
	}
	return err
}

// SetLocalHostname sets the name sent with HELO / EHLO / LHLO.
func (s *Session) SetLocalHostname(name string) error {
	c, err := cString("name", name)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(c))
	return s.setting("set_local_hostname", func() C.smtp_result { return C.smtp_client_set_local_hostname(s.p, c) })
}

// Connect connects and reads the greeting. port 0 means the host's ":port" suffix or the
// kind's default port. A host starting with "/" is a Unix socket (LMTP).
func (s *Session) Connect(ctx context.Context, host string, port uint16) error {
	c, err := cString("host", host)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(c))
	return s.network(ctx, "connect", func() C.smtp_result { return C.smtp_client_connect(s.p, c, C.uint16_t(port)) })
}

// StartTLS upgrades the connection with the session's TLS settings, then greets again.
func (s *Session) StartTLS(ctx context.Context) error {
	return s.network(ctx, "starttls", func() C.smtp_result { return C.smtp_client_starttls(s.p) })
}

// Login authenticates with user and password (CRAM-MD5, PLAIN or LOGIN, as advertised).
func (s *Session) Login(ctx context.Context, user, password string) error {
	cu, err := cString("user", user)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cu))
	cp, err := cString("password", password)
	if err != nil {
		return err
	}
	defer func() {
		// Wipe the C copy of the password before freeing it.
		b := unsafe.Slice((*byte)(unsafe.Pointer(cp)), len(password))
		for i := range b {
			b[i] = 0
		}
		C.free(unsafe.Pointer(cp))
	}()
	return s.network(ctx, "login", func() C.smtp_result {
		return C.smtp_client_login(s.p, cu, cp, C.SMTP_INITIAL_RESPONSE_SEND)
	})
}

// Noop sends NOOP.
func (s *Session) Noop(ctx context.Context) error {
	return s.network(ctx, "noop", func() C.smtp_result { return C.smtp_client_noop(s.p) })
}

// Quit sends QUIT and closes the connection, whatever the reply. The Session still has to be
// freed with Close.
func (s *Session) Quit(ctx context.Context) error {
	return s.network(ctx, "quit", func() C.smtp_result { return C.smtp_client_quit(s.p) })
}

// Getters. They copy the session's borrowed strings.

func (s *Session) IsConnected() bool     { return bool(C.smtp_client_is_connected(s.p)) }
func (s *Session) IsAuthenticated() bool { return bool(C.smtp_client_is_authenticated(s.p)) }
func (s *Session) LastReplyCode() int    { return int(C.smtp_client_last_reply_code(s.p)) }
func (s *Session) LastReplyText() string { return C.GoString(C.smtp_client_last_reply_text(s.p)) }

// HasExtension reports whether the server advertised the ESMTP extension (any case).
func (s *Session) HasExtension(name string) bool {
	c, err := cString("name", name)
	if err != nil {
		return false // no extension name contains NUL
	}
	defer C.free(unsafe.Pointer(c))
	return bool(C.smtp_client_has_extn(s.p, c))
}

// ErrNoInitialResponse, returned by an AuthFunc for the initial call, sends
// "AUTH <mechanism>" without an initial response.
var ErrNoInitialResponse = errors.New("no initial response")

// AuthFunc computes one step of an AUTH exchange. challenge is the decoded server challenge
// (nil when isInitial). Any error other than ErrNoInitialResponse cancels the exchange and is
// returned, wrapped, by Auth. It runs on the goroutine that called Auth and must not use the
// Session.
type AuthFunc func(challenge []byte, isInitial, tlsActive bool) ([]byte, error)

type authState struct {
	fn       AuthFunc
	err      error
	panicked interface{}
}

// Auth is smtplib's auth(mechanism, authobject): fn answers each step of any SASL mechanism.
// With initialResponseOK, fn is first called with isInitial true for the AUTH line.
func (s *Session) Auth(ctx context.Context, mechanism string, fn AuthFunc, initialResponseOK bool) error {
	cm, err := cString("mechanism", mechanism)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cm))
	st := &authState{fn: fn}
	h := cgo.NewHandle(st)
	defer h.Delete() // the callback runs only during smtp_client_auth: nothing can use h afterwards
	initialResponse := C.int32_t(C.SMTP_INITIAL_RESPONSE_WAIT)
	if initialResponseOK {
		initialResponse = C.SMTP_INITIAL_RESPONSE_SEND
	}
	err = s.network(ctx, "auth", func() C.smtp_result {
		return C.smtpclient_go_auth(s.p, cm, C.uintptr_t(h), initialResponse)
	})
	if st.panicked != nil {
		panic(st.panicked)
	}
	if st.err != nil {
		return fmt.Errorf("smtpclient: AUTH %s cancelled by the callback: %w", mechanism, st.err)
	}
	return err
}

// DebugKind says what a debug event reports (smtp_debug_kind).
type DebugKind int32

const (
	DebugConnect  DebugKind = C.SMTP_DEBUG_KIND_CONNECT  // a connection attempt: the endpoint
	DebugSent     DebugKind = C.SMTP_DEBUG_KIND_SENT     // bytes written (large bodies summarised)
	DebugReceived DebugKind = C.SMTP_DEBUG_KIND_RECEIVED // one reply line, control bytes escaped
	DebugInfo     DebugKind = C.SMTP_DEBUG_KIND_INFO     // a remark from the library
)

// DebugFunc receives debug events. It runs on the goroutine making a call on the session,
// during that call, and must not use the Session. data is a copy.
type DebugFunc func(kind DebugKind, data []byte)

type debugState struct {
	fn       DebugFunc
	panicked interface{}
}

// SetDebug sets the debug level (0 off, 1 commands and replies, 2 with timestamps) and sends
// the events to fn instead of stderr (nil fn: back to stderr). Credentials never appear.
// A panic in fn is raised again by the session call during which it happened.
func (s *Session) SetDebug(level int, fn DebugFunc) error {
	if s.p == nil {
		return ErrSessionClosed
	}
	var st *debugState
	var rc C.smtp_result
	if fn == nil {
		rc = C.smtp_client_set_debug_callback(s.p, nil, nil, nil)
	} else {
		st = &debugState{fn: fn}
		h := cgo.NewHandle(st)
		rc = C.smtpclient_go_set_debug(s.p, C.uintptr_t(h))
		if rc != C.SMTP_RESULT_OK {
			h.Delete() // a refused registration does not take the userdata
		}
	}
	if rc != C.SMTP_RESULT_OK {
		return lastError(s.p, "set_debug_callback", rc)
	}
	s.debug = st
	return s.setting("set_debuglevel", func() C.smtp_result { return C.smtp_client_set_debuglevel(s.p, C.int32_t(level)) })
}

// raiseCallbackPanic re-raises, after the C call returned, a panic the debug callback recovered.
func (s *Session) raiseCallbackPanic() {
	if s.debug != nil && s.debug.panicked != nil {
		p := s.debug.panicked
		s.debug.panicked = nil
		panic(p)
	}
}
