package smtpclient

/*
#include <smtpclient.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"syscall"
)

// Code is a libsmtpclient result code (smtp_result). Each constant below is also an error value
// meant for errors.Is: errors.Is(err, ErrResponse) is true for every failure that is a kind of
// ErrResponse in the library's hierarchy (ErrSenderRefused, ErrRecipientsRefused, ErrData, ...),
// decided by smtp_result_is_a, not by a copy of the hierarchy in Go.
type Code int32

// InProgress (SMTP_RESULT_IN_PROGRESS) is not an error: the C API's non-blocking calls
// (smtp_client_start_*, smtp_client_step) return it while an operation runs. This package
// makes blocking calls only (run them on goroutines), so none of its calls returns it.
const InProgress Code = C.SMTP_RESULT_IN_PROGRESS

// The result codes, named after smtplib's exception classes where there is one.
const (
	ErrSMTP               Code = C.SMTP_RESULT_SMTP_ERROR
	ErrServerDisconnected Code = C.SMTP_RESULT_SERVER_DISCONNECTED
	ErrNotSupported       Code = C.SMTP_RESULT_NOT_SUPPORTED
	ErrResponse           Code = C.SMTP_RESULT_RESPONSE_ERROR
	ErrSenderRefused      Code = C.SMTP_RESULT_SENDER_REFUSED
	ErrRecipientsRefused  Code = C.SMTP_RESULT_RECIPIENTS_REFUSED
	ErrData               Code = C.SMTP_RESULT_DATA_ERROR
	ErrConnect            Code = C.SMTP_RESULT_CONNECT_ERROR
	ErrHelo               Code = C.SMTP_RESULT_HELO_ERROR
	ErrAuthentication     Code = C.SMTP_RESULT_AUTHENTICATION_ERROR
	ErrDeliveryUnknown    Code = C.SMTP_RESULT_DELIVERY_UNKNOWN
	ErrProtocol           Code = C.SMTP_RESULT_PROTOCOL_ERROR
	ErrMessageTooLarge    Code = C.SMTP_RESULT_MESSAGE_TOO_LARGE
	ErrCredentialsPolicy  Code = C.SMTP_RESULT_CREDENTIALS_POLICY
	ErrTLSRequired        Code = C.SMTP_RESULT_TLS_REQUIRED
	ErrIO                 Code = C.SMTP_RESULT_IO_ERROR
	ErrTimeout            Code = C.SMTP_RESULT_TIMEOUT
	ErrNameResolution     Code = C.SMTP_RESULT_NAME_RESOLUTION
	ErrConnectionRefused  Code = C.SMTP_RESULT_CONNECTION_REFUSED
	ErrHostUnreachable    Code = C.SMTP_RESULT_HOST_UNREACHABLE
	ErrTLS                Code = C.SMTP_RESULT_TLS_ERROR
	ErrTLSCertificate     Code = C.SMTP_RESULT_TLS_CERTIFICATE
	ErrTLSRecord          Code = C.SMTP_RESULT_TLS_RECORD
	ErrInvalidArgument    Code = C.SMTP_RESULT_INVALID_ARGUMENT
	ErrNullArgument       Code = C.SMTP_RESULT_NULL_ARGUMENT
	ErrInvalidUTF8        Code = C.SMTP_RESULT_INVALID_UTF8
	ErrBadState           Code = C.SMTP_RESULT_BAD_STATE
	ErrBadHandle          Code = C.SMTP_RESULT_BAD_HANDLE
	ErrReentrantCall      Code = C.SMTP_RESULT_REENTRANT_CALL
	ErrCallbackAborted    Code = C.SMTP_RESULT_CALLBACK_ABORTED
	ErrConcurrentCall     Code = C.SMTP_RESULT_CONCURRENT_CALL
	ErrPanic              Code = C.SMTP_RESULT_PANIC
)

// Error is the library's English description of the code.
func (c Code) Error() string { return C.GoString(C.smtp_result_str(C.int32_t(c))) }

// Name is the C constant's name, e.g. "SMTP_RESULT_SENDER_REFUSED".
func (c Code) Name() string { return C.GoString(C.smtp_result_name(C.int32_t(c))) }

// Is reports whether c is target or a kind of it (smtp_result_is_a).
func (c Code) Is(target error) bool {
	t, ok := target.(Code)
	return ok && bool(C.smtp_result_is_a(C.int32_t(c), C.int32_t(t)))
}

// EnhancedStatus is an RFC 3463 enhanced status code (class.subject.detail, e.g. 5.1.1); the
// zero value means the reply carried none.
type EnhancedStatus struct {
	Class, Subject, Detail int
}

func (e EnhancedStatus) String() string {
	if e == (EnhancedStatus{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e.Class, e.Subject, e.Detail)
}

// Error is a failed library call, with the detail the session kept about it (copied: the
// session's strings are borrowed).
//
//	errors.Is(err, smtpclient.ErrResponse)    // the result hierarchy (Code.Is)
//	errors.Is(err, syscall.ECONNREFUSED)      // the OS error, when there was one (Unwrap)
//	errors.Is(err, context.DeadlineExceeded)  // a timeout that came from the context's deadline
//	var e *smtpclient.Error; errors.As(err, &e) // e.ReplyCode, e.EnhancedStatus, ...
type Error struct {
	Op             string         // the call that failed, e.g. "sendmail"
	Code           Code           // the result code
	Message        string         // the library's description of this failure
	ReplyCode      int            // the server reply behind the error, 0 when none
	ReplyText      string         // its text, "" when none
	EnhancedStatus EnhancedStatus // its enhanced status code, zero when none
	OSError        syscall.Errno  // the errno behind the error, 0 when none
	Sender         string         // the refused sender of an ErrSenderRefused
	CallbackValue  int            // what a callback returned when it aborted the call
	// The context whose deadline had passed when the call timed out: the timeout was the
	// context's deadline, so errors.Is(err, context.DeadlineExceeded) holds.
	deadline error
	// Why a callback aborted the call (ErrCallbackAborted): the body reader's error, or the
	// context's. Reached by errors.Is / errors.As through Unwrap.
	cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "smtpclient: %s: %s: %s", e.Op, e.Code.Name(), e.Message)
	if e.cause != nil {
		fmt.Fprintf(&b, " (%v)", e.cause)
	}
	// The library's message usually quotes the reply already.
	if e.ReplyCode != 0 && !strings.Contains(e.Message, e.ReplyText) {
		fmt.Fprintf(&b, " (server said %d", e.ReplyCode)
		if s := e.EnhancedStatus.String(); s != "" && !strings.HasPrefix(e.ReplyText, s) {
			fmt.Fprintf(&b, " %s", s)
		}
		fmt.Fprintf(&b, " %s)", e.ReplyText)
	}
	return b.String()
}

// Is matches a Code along the result hierarchy, and context.DeadlineExceeded for a timeout
// caused by the context's deadline.
func (e *Error) Is(target error) bool {
	if c, ok := target.(Code); ok {
		return e.Code.Is(c)
	}
	return e.deadline != nil && target == e.deadline
}

// Unwrap gives the OS error (a syscall.Errno), so errors.Is(err, syscall.ECONNREFUSED) and
// errors.Is(err, fs.ErrNotExist) work, or the error that made a callback abort the call.
func (e *Error) Unwrap() error {
	if e.cause != nil {
		return e.cause
	}
	if e.OSError != 0 {
		return e.OSError
	}
	return nil
}

// lastError copies the session's detail of the failure rc into an *Error.
func lastError(p *C.smtp_client, op string, rc C.smtp_result) *Error {
	e := &Error{
		Op:            op,
		Code:          Code(rc),
		Message:       C.GoString(C.smtp_client_last_error_message(p)),
		ReplyCode:     int(C.smtp_client_last_error_reply_code(p)),
		ReplyText:     C.GoString(C.smtp_client_last_error_reply_text(p)),
		OSError:       syscall.Errno(C.smtp_client_last_os_error(p)),
		CallbackValue: int(C.smtp_client_last_callback_value(p)),
	}
	var class, subject, detail C.int32_t
	if C.smtp_client_last_error_enhanced_status(p, &class, &subject, &detail) {
		e.EnhancedStatus = EnhancedStatus{int(class), int(subject), int(detail)}
	}
	if sender := C.smtp_client_last_error_sender(p); sender != nil {
		e.Sender = C.GoString(sender)
	}
	return e
}

// contextError is returned, before anything is sent, when the context is already done.
func contextError(op string, err error) error {
	return fmt.Errorf("smtpclient: %s not started: %w", op, err)
}
