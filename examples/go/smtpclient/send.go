package smtpclient

/*
#include <stdlib.h>
#include <smtpclient.h>
*/
import "C"

import (
	"context"
	"unsafe"
)

// SendOptions are the ESMTP options of a send (smtp_send_options): smtplib's mail_options and
// rcpt_options. nil means none.
type SendOptions struct {
	MailOptions []string // for MAIL FROM, e.g. "BODY=8BITMIME", "SMTPUTF8"
	RcptOptions []string // for every RCPT TO, e.g. "NOTIFY=FAILURE"
	// For SendmailStream: the message size in octets with CRLF line ends, announced as SIZE
	// and checked against the server's limit before anything is sent; 0 means unknown. Sends
	// of a message in memory compute the size themselves.
	SizeEstimate int64
}

// cOptions builds the C options object; the caller frees it with smtp_send_options_free. nil
// options give NULL.
func (o *SendOptions) cOptions() (*C.smtp_send_options, error) {
	if o == nil {
		return nil, nil
	}
	p := C.smtp_send_options_new()
	if p == nil {
		return nil, lastErrorWithoutSession("send_options_new", C.SMTP_RESULT_PANIC)
	}
	add := func(name, op string, values []string, addOne func(*C.char) C.smtp_result) error {
		cs, err := newCStrings(name, values)
		if err != nil {
			return err
		}
		defer cs.free()
		for _, c := range cs {
			if rc := addOne(c); rc != C.SMTP_RESULT_OK {
				return lastErrorWithoutSession(op, rc)
			}
		}
		return nil
	}
	err := add("MailOptions", "send_options_add_mail_option", o.MailOptions, func(c *C.char) C.smtp_result { return C.smtp_send_options_add_mail_option(p, c) })
	if err == nil && o.SizeEstimate != 0 {
		if rc := C.smtp_send_options_set_size_estimate(p, C.int64_t(o.SizeEstimate)); rc != C.SMTP_RESULT_OK {
			err = lastErrorWithoutSession("send_options_set_size_estimate", rc)
		}
	}
	if err == nil {
		err = add("RcptOptions", "send_options_add_rcpt_option", o.RcptOptions, func(c *C.char) C.smtp_result { return C.smtp_send_options_add_rcpt_option(p, c) })
	}
	if err != nil {
		C.smtp_send_options_free(p)
		return nil, err
	}
	return p, nil
}

// lastErrorWithoutSession is the error of a call that has no session to keep its detail.
func lastErrorWithoutSession(op string, rc C.smtp_result) *Error {
	code := Code(rc)
	return &Error{Op: op, Code: code, Message: code.Error()}
}

// Recipient is the outcome of one recipient of the last transaction.
type Recipient struct {
	Address  string
	RCPTCode int // the reply to RCPT TO
	// LMTP: the recipient's own reply after the data; 0 for SMTP, and for a recipient whose
	// RCPT was refused.
	DataCode int
	// The deciding reply's text and enhanced status: the after-data reply when there is one,
	// else the RCPT reply.
	Text           string
	EnhancedStatus EnhancedStatus
}

// Accepted reports whether the server took the message for this recipient: the after-data
// reply when there is one (LMTP), else the RCPT reply (250 or 251, as smtplib).
func (r Recipient) Accepted() bool {
	if r.DataCode != 0 {
		return r.DataCode/100 == 2
	}
	return r.RCPTCode == 250 || r.RCPTCode == 251
}

// Recipients lists every recipient of the current or last transaction, in RCPT order.
func (s *Session) Recipients() []Recipient {
	n := int(C.smtp_client_recipient_count(s.p))
	out := make([]Recipient, 0, n)
	for i := 0; i < n; i++ {
		var addr, text *C.char
		var rcptCode, dataCode C.int32_t
		if C.smtp_client_recipient_get(s.p, C.size_t(i), &addr, &rcptCode, &dataCode, &text) != C.SMTP_RESULT_OK {
			continue
		}
		r := Recipient{Address: C.GoString(addr), RCPTCode: int(rcptCode), DataCode: int(dataCode), Text: C.GoString(text)}
		var class, subject, detail C.int32_t
		if C.smtp_client_recipient_enhanced_status(s.p, C.size_t(i), &class, &subject, &detail) {
			r.EnhancedStatus = EnhancedStatus{int(class), int(subject), int(detail)}
		}
		out = append(out, r)
	}
	return out
}

// Refused is one recipient the server refused (smtplib's sendmail result dict, one entry).
type Refused struct {
	Address string
	Code    int
	Text    string
}

// Refused lists the recipients refused by the current or last transaction.
func (s *Session) Refused() []Refused {
	n := int(C.smtp_client_refused_count(s.p))
	out := make([]Refused, 0, n)
	for i := 0; i < n; i++ {
		var addr, text *C.char
		var code C.int32_t
		if C.smtp_client_refused_get(s.p, C.size_t(i), &addr, &code, &text) != C.SMTP_RESULT_OK {
			continue
		}
		out = append(out, Refused{Address: C.GoString(addr), Code: int(code), Text: C.GoString(text)})
	}
	return out
}

// bytesPtr is msg for C, read by C during the call only.
func bytesPtr(msg []byte) *C.uint8_t {
	if len(msg) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&msg[0]))
}

// Sendmail is smtplib's sendmail(): it sends msg (line ends normalised, dot-stuffed) from
// `from` to every address of `to`. The error is nil when at least one recipient accepted it;
// the per-recipient outcome is returned in both cases once the transaction has started (all
// refused: an error matching ErrRecipientsRefused, with every refusal in the list).
func (s *Session) Sendmail(ctx context.Context, from string, to []string, msg []byte, opts *SendOptions) ([]Recipient, error) {
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
	err = s.network(ctx, "sendmail", func() C.smtp_result {
		return C.smtp_client_sendmail(s.p, cfrom, cto.ptr(), C.size_t(len(cto)), bytesPtr(msg), C.size_t(len(msg)), copts)
	})
	return s.recipientsAfter(err), err
}

// SendMessage is smtplib's send_message() for a raw RFC 5322 message: from "" takes the sender
// from the headers (Sender, else From) and a nil or empty `to` the recipients from To, Cc and
// Bcc; Bcc fields are not sent. (For the null reverse-path "<>", use Sendmail.) Results as
// Sendmail.
func (s *Session) SendMessage(ctx context.Context, msg []byte, from string, to []string, opts *SendOptions) ([]Recipient, error) {
	var cfrom *C.char
	if from != "" {
		var err error
		if cfrom, err = cString("from", from); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(cfrom))
	}
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
	err = s.network(ctx, "send_message", func() C.smtp_result {
		// NULL and 0 recipients: taken from the headers.
		return C.smtp_client_send_message(s.p, bytesPtr(msg), C.size_t(len(msg)), cfrom, cto.ptr(), C.size_t(len(cto)), copts)
	})
	return s.recipientsAfter(err), err
}

// recipientsAfter is the per-recipient outcome of a send that reached the library (not one
// refused by the binding or the context before it started).
func (s *Session) recipientsAfter(err error) []Recipient {
	if _, reached := err.(*Error); err != nil && !reached {
		return nil
	}
	return s.Recipients()
}
