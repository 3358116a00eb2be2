package smtpclient

// The exported callbacks live in a file of their own: a cgo file with //export may only
// declare C functions in its preamble, not define them.

/*
#include <stdint.h>
#include <smtpclient.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"runtime/cgo"
	"unsafe"
)

// What the AUTH callback returns to C (smtp_auth_step).
const (
	authStepRespond           = C.int32_t(C.SMTP_AUTH_STEP_RESPOND)
	authStepNoInitialResponse = C.int32_t(C.SMTP_AUTH_STEP_NO_INITIAL_RESPONSE)
	authStepAbort             = C.int32_t(C.SMTP_AUTH_STEP_ABORT)
)

// goSmtpAuthStep is the smtp_auth_callback given to smtp_client_auth by Session.Auth. It runs
// on the goroutine that called Auth, inside smtp_client_auth. userdata is the cgo.Handle of an
// *authState.
//
//export goSmtpAuthStep
func goSmtpAuthStep(userdata unsafe.Pointer, challenge *C.uint8_t, challengeLen C.size_t,
	isInitial C.bool, tlsActive C.bool, response *C.smtp_auth_response) (step C.int32_t) {
	st := cgo.Handle(uintptr(userdata)).Value().(*authState)
	// No Go panic may unwind into the C library.
	defer func() {
		if r := recover(); r != nil {
			st.panicked = r
			step = authStepAbort
		}
	}()

	var ch []byte
	if challenge != nil {
		ch = C.GoBytes(unsafe.Pointer(challenge), C.int(challengeLen)) // copy: borrowed for this call
	}
	resp, err := st.fn(ch, bool(isInitial), bool(tlsActive))
	if errors.Is(err, ErrNoInitialResponse) && bool(isInitial) {
		return authStepNoInitialResponse
	}
	if err != nil {
		st.err = err
		return authStepAbort
	}
	var p *C.uint8_t
	if len(resp) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&resp[0])) // copied by the library before it returns
	}
	if rc := C.smtp_auth_response_set(response, p, C.size_t(len(resp))); rc != C.SMTP_RESULT_OK {
		st.err = fmt.Errorf("smtp_auth_response_set: %s", Code(rc).Name())
		return authStepAbort
	}
	return authStepRespond
}

// goSmtpDebug is the smtp_debug_callback registered by Session.SetDebug; userdata is the
// cgo.Handle of a *debugState.
//
//export goSmtpDebug
func goSmtpDebug(userdata unsafe.Pointer, kind C.int32_t, data *C.uint8_t, length C.size_t) {
	st := cgo.Handle(uintptr(userdata)).Value().(*debugState)
	defer func() {
		if r := recover(); r != nil && st.panicked == nil {
			st.panicked = r // raised again when the session call returns
		}
	}()
	if st.panicked != nil {
		return // the call is already failing in Go: stay quiet until it returns
	}
	st.fn(DebugKind(kind), C.GoBytes(unsafe.Pointer(data), C.int(length)))
}

// goSmtpDebugFree is the debug userdata's destructor: the library calls it once, when the
// callback is replaced or the session freed, after which the handle cannot be used.
//
//export goSmtpDebugFree
func goSmtpDebugFree(userdata unsafe.Pointer) {
	cgo.Handle(uintptr(userdata)).Delete()
}

// goSmtpRead is the smtp_read_callback given to smtp_client_sendmail_stream by
// Session.SendmailStream; userdata is the cgo.Handle of a *readState. It fills buf (C memory,
// written in place) from the io.Reader: a count, 0 at the end, -1 to abort.
//
//export goSmtpRead
func goSmtpRead(userdata unsafe.Pointer, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	st := cgo.Handle(uintptr(userdata)).Value().(*readState)
	defer func() {
		if r := recover(); r != nil {
			st.panicked = r
			n = -1
		}
	}()
	if err := st.ctx.Err(); err != nil {
		st.err = err
		return -1
	}
	if st.pending != nil {
		if st.pending == io.EOF {
			return 0
		}
		st.err = st.pending
		return -1
	}
	if capacity > 1<<30 {
		capacity = 1 << 30
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
	for empty := 0; ; empty++ {
		got, err := st.r.Read(b)
		if got > 0 {
			st.pending = err // reported by the next call
			return C.int64_t(got)
		}
		if err == io.EOF {
			return 0
		}
		if err != nil {
			st.err = err
			return -1
		}
		if empty == 100 {
			st.err = io.ErrNoProgress
			return -1
		}
	}
}
