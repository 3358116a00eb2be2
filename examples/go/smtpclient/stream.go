package smtpclient

/*
#include <stdint.h>
#include <stdlib.h>
#include <smtpclient.h>

// Implemented in Go (callback.go, //export).
extern int64_t goSmtpRead(void *userdata, uint8_t *buf, size_t capacity);

// The cgo.Handle travels as the userdata integer, so no Go pointer ever reaches C.
static int32_t smtpclient_go_sendmail_stream(smtp_client *s, const char *from, char **to,
                                             size_t n_to, uintptr_t handle,
                                             const smtp_send_options *options)
{
    return smtp_client_sendmail_stream(s, from, (const char *const *)to, n_to,
                                       (smtp_read_callback)goSmtpRead, (void *)handle, options);
}
*/
import "C"

import (
	"context"
	"fmt"
	"io"
	"runtime/cgo"
	"unsafe"
)

// readState is what goSmtpRead needs: the body, the call's context, and what went wrong.
type readState struct {
	r        io.Reader
	ctx      context.Context
	pending  error // an error Read returned together with data: reported by the next read
	err      error // why the read callback aborted the send
	panicked interface{}
}

// SendmailStream is Sendmail with the message read from body in chunks, so a message of any
// size goes out in bounded memory (line ends normalised and dot-stuffed, or BDAT chunks).
// opts.SizeEstimate, when set, is announced as SIZE and checked against the server's limit
// before anything is sent. A Read error, or ctx being done while the body is read, aborts the
// send: before the transaction nothing is sent, later the session is closed so that no partial
// message can be delivered; the error then wraps the Read error (or ctx.Err()) and matches
// ErrCallbackAborted. Results as Sendmail.
func (s *Session) SendmailStream(ctx context.Context, from string, to []string, body io.Reader, opts *SendOptions) ([]Recipient, error) {
	if body == nil {
		return nil, fmt.Errorf("smtpclient: sendmail_stream: body is nil")
	}
	cfrom, err := cString("from", from)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cfrom))
	cto, err := newCStrings("to", to)
	if err != nil {
		return nil, err
	}
	defer cto.free()
	copts, err := opts.cOptions()
	if err != nil {
		return nil, err
	}
	defer C.smtp_send_options_free(copts)
	st := &readState{r: body, ctx: ctx}
	h := cgo.NewHandle(st)
	defer h.Delete() // the callback runs only during the call: nothing can use h afterwards
	err = s.network(ctx, "sendmail_stream", func() C.smtp_result {
		return C.smtpclient_go_sendmail_stream(s.p, cfrom, cto.ptr(), C.size_t(len(cto)), C.uintptr_t(h), copts)
	})
	if st.panicked != nil {
		panic(st.panicked)
	}
	if st.err != nil {
		if e, ok := err.(*Error); ok {
			e.cause = st.err
		} else if err == nil {
			err = fmt.Errorf("smtpclient: sendmail_stream: reading the body: %w", st.err)
		}
	}
	return s.recipientsAfter(err), err
}
