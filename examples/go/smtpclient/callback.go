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
