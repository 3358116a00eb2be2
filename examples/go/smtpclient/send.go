package smtpclient

/*
#include <stdlib.h>
#include <smtpclient.h>
*/
import "C"

import (
	"context"
	"sort"
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

	// DSN (RFC 3461), sent only when the server advertises DSN (see DSNPolicy).
	DSNRet   DSNRet         // what a notification returns of a failed message; DSNRetUnset: no RET=
	DSNEnvID string         // the envelope identifier (ENVID=) returned in notifications; "": none
	DSN      map[string]DSN // per recipient (the address as passed to the send, any ASCII case)
	// What a send with DSN settings does when the server does not advertise DSN:
	// DSNRequire (the default) fails with ErrNotSupported before MAIL, DSNOptional sends without.
	DSNPolicy DSNPolicy

	// REQUIRETLS (RFC 8689) on MAIL FROM: sent only over verified TLS to a server that
	// advertises it; otherwise the send fails with ErrTLSRequired before MAIL.
	RequireTLS bool
}

// DSNRet is what a delivery status notification returns of a failed message (smtp_dsn_ret).
type DSNRet int32

const (
	DSNRetUnset   DSNRet = C.SMTP_DSN_RET_UNSET // no RET=: the server chooses
	DSNRetFull    DSNRet = C.SMTP_DSN_RET_FULL  // RET=FULL: the whole message
	DSNRetHeaders DSNRet = C.SMTP_DSN_RET_HDRS  // RET=HDRS: the headers only
)

// DSNNotify says when a recipient's notification is sent (smtp_dsn_notify): NotifyNever alone,
// or any of the other three combined with |.
type DSNNotify uint32

const (
	NotifySuccess DSNNotify = C.SMTP_DSN_NOTIFY_SUCCESS // on delivery
	NotifyFailure DSNNotify = C.SMTP_DSN_NOTIFY_FAILURE // on failure
	NotifyDelay   DSNNotify = C.SMTP_DSN_NOTIFY_DELAY   // on delay
	NotifyNever   DSNNotify = C.SMTP_DSN_NOTIFY_NEVER   // never; combines with no other flag
)

// DSNPolicy is what a send with DSN settings does when the server does not advertise DSN
// (smtp_dsn_policy).
type DSNPolicy int32

const (
	DSNRequire  DSNPolicy = C.SMTP_DSN_POLICY_REQUIRE  // fail with ErrNotSupported before MAIL (the default)
	DSNOptional DSNPolicy = C.SMTP_DSN_POLICY_OPTIONAL // send without the DSN parameters
)

// DSN is one recipient's DSN settings, sent on its RCPT only.
type DSN struct {
	Notify DSNNotify // NOTIFY=; 0: the server's default (failures and delays)
	ORCPT  string    // the original recipient (ORCPT=); "": none
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
		err = o.cDSN(p)
	}
	if err == nil && o.RequireTLS {
		if rc := C.smtp_send_options_set_requiretls(p, C.bool(true)); rc != C.SMTP_RESULT_OK {
			err = lastErrorWithoutSession("send_options_set_requiretls", rc)
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

// cDSN sets the DSN fields on p, the recipients in sorted order (so that the first bad one is
// always the same).
func (o *SendOptions) cDSN(p *C.smtp_send_options) error {
	check := func(op string, rc C.smtp_result) error {
		if rc != C.SMTP_RESULT_OK {
			return lastErrorWithoutSession(op, rc)
		}
		return nil
	}
	if o.DSNRet != DSNRetUnset {
		if err := check("send_options_set_dsn_ret", C.smtp_send_options_set_dsn_ret(p, C.int32_t(o.DSNRet))); err != nil {
			return err
		}
	}
	if o.DSNEnvID != "" {
		c, err := cString("DSNEnvID", o.DSNEnvID)
		if err != nil {
			return err
		}
		err = check("send_options_set_dsn_envid", C.smtp_send_options_set_dsn_envid(p, c))
		C.free(unsafe.Pointer(c))
		if err != nil {
			return err
		}
	}
	recipients := make([]string, 0, len(o.DSN))
	for r := range o.DSN {
		recipients = append(recipients, r)
	}
	sort.Strings(recipients)
	for _, r := range recipients {
		if err := setRecipientDSN(p, r, o.DSN[r]); err != nil {
			return err
		}
	}
	if o.DSNPolicy != DSNRequire {
		return check("send_options_set_dsn_policy", C.smtp_send_options_set_dsn_policy(p, C.int32_t(o.DSNPolicy)))
	}
	return nil
}

func setRecipientDSN(p *C.smtp_send_options, recipient string, d DSN) error {
	crcpt, err := cString("DSN recipient", recipient)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(crcpt))
	if d.Notify != 0 {
		if rc := C.smtp_send_options_set_dsn_notify(p, crcpt, C.uint32_t(d.Notify)); rc != C.SMTP_RESULT_OK {
			return lastErrorWithoutSession("send_options_set_dsn_notify", rc)
		}
	}
	if d.ORCPT != "" {
		corcpt, err := cString("DSN ORCPT", d.ORCPT)
		if err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(corcpt))
		if rc := C.smtp_send_options_set_dsn_orcpt(p, crcpt, corcpt); rc != C.SMTP_RESULT_OK {
			return lastErrorWithoutSession("send_options_set_dsn_orcpt", rc)
		}
	}
	return nil
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
