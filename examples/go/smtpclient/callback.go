package smtpclient

// The exported callback lives in a file of its own: a cgo file with //export may only declare
// C functions in its preamble, not define them.

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

// What the callback returns to C (smtp_auth_step).
const (
	authStepRespond           = C.int32_t(C.SMTP_AUTH_STEP_RESPOND)
	authStepNoInitialResponse = C.int32_t(C.SMTP_AUTH_STEP_NO_INITIAL_RESPONSE)
	authStepAbort             = C.int32_t(C.SMTP_AUTH_STEP_ABORT)
)

// goSmtpAuthStep is the smtp_auth_callback given to smtp_client_auth by Session.Auth. It runs on the
// goroutine that called Auth, inside smtp_auth. userdata is the cgo.Handle of an *authState.
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
	if rc := int32(C.smtp_auth_response_set(response, p, C.size_t(len(resp)))); rc != ResultOK {
		st.err = fmt.Errorf("smtp_auth_response_set: %s", C.GoString(C.smtp_result_name(C.int32_t(rc))))
		return authStepAbort
	}
	return authStepRespond
}
