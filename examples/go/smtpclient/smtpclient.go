// Package smtpclient is a small Go binding of libsmtpclient, through cgo and pkg-config.
//
// Copy this directory into your module. It needs the library installed where pkg-config finds
// it (PKG_CONFIG_PATH for a private prefix) and, at run time, where the dynamic loader finds it
// (LD_LIBRARY_PATH for a private prefix).
//
// Rules this binding follows, and that code extending it must follow too:
//   - A Session owns its C handle; Close frees it (call it, e.g. with defer: there is no
//     finalizer). A Session must not be used by two goroutines at the same time; it may move
//     between goroutines (and so OS threads) between calls.
//   - Every string argument goes through cString, which refuses one holding a NUL byte with an
//     error wrapping ErrNULInString (C would read it only up to the NUL), before any C call.
//   - Strings the library returns are borrowed from the session: they are copied into Go strings
//     (C.GoString) at once, before any other call on the session.
//   - C keeps no Go pointer: the AUTH callback's Go state travels as a runtime/cgo.Handle (an
//     integer) in the userdata argument and is deleted when Auth returns. Go memory passed to C
//     (message bytes, the recipients array of C strings) is used by C only during the call.
//   - A Go panic must not unwind through the C library: the exported callback recovers, cancels
//     the exchange and Auth re-panics once the library has returned.
package smtpclient

/*
#cgo pkg-config: smtpclient
#include <stdint.h>
#include <stdlib.h>
#include <smtpclient.h>

// Implemented in Go: goSmtpAuthStep in callback.go (//export).
extern int32_t goSmtpAuthStep(void *userdata, uint8_t *challenge, size_t challenge_len,
                              _Bool is_initial, _Bool tls_active, smtp_auth_response *response);

// smtp_client_auth with the Go callback; the cgo.Handle is passed as the userdata integer, so no Go
// pointer ever reaches C.
static int32_t smtpclient_go_auth(smtp_client *s, const char *mechanism, uintptr_t handle,
                                  int32_t initial_response)
{
    return smtp_client_auth(s, mechanism, (smtp_auth_callback)goSmtpAuthStep, (void *)handle,
                            initial_response);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"strings"
	"unsafe"
)

// Session kinds (smtp_client_kind).
const (
	KindSMTP  = int32(C.SMTP_CLIENT_KIND_SMTP)
	KindSMTPS = int32(C.SMTP_CLIENT_KIND_SMTPS)
	KindLMTP  = int32(C.SMTP_CLIENT_KIND_LMTP)
)

// Result codes used by callers of this package (the full list is in smtpclient.h).
const (
	ResultOK                = int32(C.SMTP_RESULT_OK)
	ResultResponseError     = int32(C.SMTP_RESULT_RESPONSE_ERROR)
	ResultRecipientsRefused = int32(C.SMTP_RESULT_RECIPIENTS_REFUSED)
	ResultCallbackAborted   = int32(C.SMTP_RESULT_CALLBACK_ABORTED)
)

// Error is a failed call: the result code, its name, the library's message and the server's
// reply (ReplyCode 0 when there was none). All copied from the session.
type Error struct {
	Code      int32
	Name      string
	Message   string
	ReplyCode int
	ReplyText string
}

func (e *Error) Error() string {
	if e.ReplyCode != 0 {
		return fmt.Sprintf("%s: %s (server said %d %s)", e.Name, e.Message, e.ReplyCode, e.ReplyText)
	}
	return fmt.Sprintf("%s: %s", e.Name, e.Message)
}

// IsA follows smtplib's exception hierarchy, e.g. IsA(ResultResponseError).
func (e *Error) IsA(base int32) bool {
	return bool(C.smtp_result_is_a(C.int32_t(e.Code), C.int32_t(base)))
}

// Refused is one recipient the server refused.
type Refused struct {
	Address string
	Code    int
	Text    string
}

// LibraryVersion is the version of the library loaded at run time; HeaderVersion the one of
// the header this package was compiled against.
func LibraryVersion() string       { return C.GoString(C.smtp_lib_version()) }
func LibraryVersionNumber() uint32 { return uint32(C.smtp_lib_version_number()) }

const HeaderVersion = C.SMTPCLIENT_VERSION_STRING
const HeaderVersionNumber = uint32(C.SMTPCLIENT_VERSION_NUMBER)

// Session is one SMTP, ESMTP or LMTP session.
type Session struct {
	p *C.smtp_client
}

// New creates an unconnected session of the given kind. Close it when done.
func New(kind int32) (*Session, error) {
	p := C.smtp_client_new(C.int32_t(kind))
	if p == nil {
		return nil, fmt.Errorf("smtp_client_new: unknown session kind %d", kind)
	}
	return &Session{p: p}, nil
}

// Close frees the session (closing the connection without QUIT). Calling it again is a no-op.
func (s *Session) Close() {
	if s.p != nil {
		C.smtp_client_free(s.p)
		s.p = nil
	}
}

func (s *Session) check(rc C.smtp_result) error {
	code := int32(rc)
	if code == ResultOK {
		return nil
	}
	return &Error{
		Code:      code,
		Name:      C.GoString(C.smtp_result_name(C.int32_t(code))),
		Message:   C.GoString(C.smtp_client_last_error_message(s.p)),
		ReplyCode: int(C.smtp_client_last_error_reply_code(s.p)),
		ReplyText: C.GoString(C.smtp_client_last_error_reply_text(s.p)),
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

func (s *Session) SetTimeoutMs(ms uint32) error {
	return s.check(C.smtp_client_set_timeout_ms(s.p, C.uint32_t(ms)))
}

func (s *Session) SetTLSCAFile(path string) error {
	c, err := cString("path", path)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(c))
	return s.check(C.smtp_client_set_tls_ca_file(s.p, c))
}

func (s *Session) Connect(host string, port uint16) error {
	c, err := cString("host", host)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(c))
	return s.check(C.smtp_client_connect(s.p, c, C.uint16_t(port)))
}

func (s *Session) StartTLS() error { return s.check(C.smtp_client_starttls(s.p)) }

func (s *Session) Login(user, password string) error {
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
	return s.check(C.smtp_client_login(s.p, cu, cp, C.SMTP_INITIAL_RESPONSE_SEND))
}

// ErrNoInitialResponse, returned by an AuthFunc for the initial call, sends
// "AUTH <mechanism>" without an initial response.
var ErrNoInitialResponse = errors.New("no initial response")

// AuthFunc computes one step of an AUTH exchange. challenge is the decoded server challenge
// (nil when isInitial). Any other error cancels the exchange and is returned by Auth.
type AuthFunc func(challenge []byte, isInitial, tlsActive bool) ([]byte, error)

type authState struct {
	fn       AuthFunc
	err      error
	panicked interface{}
}

// Auth is smtplib's auth(mechanism, authobject): fn answers each step.
func (s *Session) Auth(mechanism string, fn AuthFunc, initialResponseOK bool) error {
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
	rc := C.smtpclient_go_auth(s.p, cm, C.uintptr_t(h), initialResponse)
	if st.panicked != nil {
		panic(st.panicked)
	}
	if st.err != nil {
		return fmt.Errorf("AUTH %s cancelled by the callback: %w", mechanism, st.err)
	}
	return s.check(C.smtp_result(rc))
}

// Sendmail is smtplib's sendmail(): nil when at least one recipient accepted the message (the
// refused ones are in Refused()); an *Error when all were refused or the send failed.
func (s *Session) Sendmail(from string, to []string, msg []byte) error {
	cfrom, err := cString("from", from)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cfrom))
	// A Go array of C pointers: Go memory that holds no Go pointer may be passed to C.
	cto := make([]*C.char, len(to))
	defer func() {
		for _, c := range cto {
			C.free(unsafe.Pointer(c)) // nil (not converted yet) is a no-op
		}
	}()
	for i, addr := range to {
		if cto[i], err = cString(fmt.Sprintf("to[%d]", i), addr); err != nil {
			return err
		}
	}
	var pto **C.char
	if len(cto) > 0 {
		pto = &cto[0]
	}
	var pmsg *C.uint8_t
	if len(msg) > 0 {
		pmsg = (*C.uint8_t)(unsafe.Pointer(&msg[0]))
	}
	return s.check(C.smtp_client_sendmail(s.p, cfrom, pto, C.size_t(len(cto)), pmsg, C.size_t(len(msg)), nil))
}

// Refused lists the recipients refused by the last transaction (copies).
func (s *Session) Refused() []Refused {
	n := int(C.smtp_client_refused_count(s.p))
	out := make([]Refused, 0, n)
	for i := 0; i < n; i++ {
		var addr, text *C.char
		var code C.int32_t
		if int32(C.smtp_client_refused_get(s.p, C.size_t(i), &addr, &code, &text)) != ResultOK {
			continue
		}
		out = append(out, Refused{Address: C.GoString(addr), Code: int(code), Text: C.GoString(text)})
	}
	return out
}

func (s *Session) Noop() error { return s.check(C.smtp_client_noop(s.p)) }
func (s *Session) Quit() error { return s.check(C.smtp_client_quit(s.p)) }

func (s *Session) TLSActive() bool       { return bool(C.smtp_client_tls_active(s.p)) }
func (s *Session) TLSPeerVerified() bool { return bool(C.smtp_client_tls_peer_verified(s.p)) }
func (s *Session) TLSVersion() string    { return C.GoString(C.smtp_client_tls_version(s.p)) }
func (s *Session) TLSCipher() string     { return C.GoString(C.smtp_client_tls_cipher(s.p)) }
func (s *Session) LastReplyCode() int    { return int(C.smtp_client_last_reply_code(s.p)) }
func (s *Session) LastReplyText() string { return C.GoString(C.smtp_client_last_reply_text(s.p)) }
