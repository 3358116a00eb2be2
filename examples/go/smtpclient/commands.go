package smtpclient

// smtplib's low-level commands, the capabilities the server advertised, and the session
// settings beyond TLS.

/*
#include <stdlib.h>
#include <smtpclient.h>
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"unsafe"
)

// Reply is a server reply: its code and its text (lines joined with "\n", as smtplib).
type Reply struct {
	Code int
	Text string
}

// lastReply copies the session's last reply.
func (s *Session) lastReply() Reply {
	return Reply{Code: int(C.smtp_client_last_reply_code(s.p)), Text: C.GoString(C.smtp_client_last_reply_text(s.p))}
}

// command runs one low-level command: the reply is returned whatever its code (the caller
// decides what a 5xx means, as with smtplib); the error is for failures of the call itself
// (connection lost, bad argument, TLS policy).
func (s *Session) command(ctx context.Context, op string, call func() C.smtp_result) (Reply, error) {
	if err := s.network(ctx, op, call); err != nil {
		return Reply{}, err
	}
	return s.lastReply(), nil
}

// optionalCString is cString, or NULL for "" (the C API's "none" / "the default").
func optionalCString(argument, value string) (*C.char, error) {
	if value == "" {
		return nil, nil
	}
	return cString(argument, value)
}

// Docmd is smtplib's docmd(cmd, args): sends "cmd args" ("cmd" alone when args is "") and
// returns the reply, whatever its code.
func (s *Session) Docmd(ctx context.Context, cmd, args string) (Reply, error) {
	cc, err := cString("cmd", cmd)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(cc))
	ca, err := optionalCString("args", args)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(ca))
	return s.command(ctx, "docmd", func() C.smtp_result { return C.smtp_client_docmd(s.p, cc, ca) })
}

// Helo is smtplib's helo(name) ("": the local host name). The reply is returned whatever its code.
func (s *Session) Helo(ctx context.Context, name string) (Reply, error) {
	c, err := optionalCString("name", name)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(c))
	return s.command(ctx, "helo", func() C.smtp_result { return C.smtp_client_helo(s.p, c) })
}

// Ehlo is smtplib's ehlo(name) (LHLO for LMTP; "": the local host name). On 250 the
// extensions are parsed (HasExtension, Features). The reply is returned whatever its code.
func (s *Session) Ehlo(ctx context.Context, name string) (Reply, error) {
	c, err := optionalCString("name", name)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(c))
	return s.command(ctx, "ehlo", func() C.smtp_result { return C.smtp_client_ehlo(s.p, c) })
}

// EhloOrHeloIfNeeded is smtplib's ehlo_or_helo_if_needed(): EHLO unless done, HELO if EHLO is
// refused (a refusal of both is ErrHelo). Under a TLS policy it also does STARTTLS.
func (s *Session) EhloOrHeloIfNeeded(ctx context.Context) error {
	return s.network(ctx, "ehlo_or_helo_if_needed", func() C.smtp_result { return C.smtp_client_ehlo_or_helo_if_needed(s.p) })
}

// Mail is smtplib's mail(sender, options): MAIL FROM with ESMTP options ("" is the null
// reverse-path <>). It starts a new transaction; the reply is returned whatever its code.
func (s *Session) Mail(ctx context.Context, sender string, options ...string) (Reply, error) {
	cs, err := cString("sender", sender)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(cs))
	co, err := newCStrings("options", options)
	if err != nil {
		return Reply{}, err
	}
	defer co.free()
	return s.command(ctx, "mail", func() C.smtp_result {
		return C.smtp_client_mail(s.p, cs, co.ptr(), C.size_t(len(co)))
	})
}

// Rcpt is smtplib's rcpt(recipient, options): RCPT TO. The reply is returned whatever its
// code, and kept per recipient (Recipients).
func (s *Session) Rcpt(ctx context.Context, recipient string, options ...string) (Reply, error) {
	cr, err := cString("recipient", recipient)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(cr))
	co, err := newCStrings("options", options)
	if err != nil {
		return Reply{}, err
	}
	defer co.free()
	return s.command(ctx, "rcpt", func() C.smtp_result {
		return C.smtp_client_rcpt(s.p, cr, co.ptr(), C.size_t(len(co)))
	})
}

// Data is smtplib's data(msg): DATA, the message (line ends normalised, dot-stuffed) and the
// end mark. It returns the final reply whatever its code (for LMTP each recipient's own reply
// is in Recipients). A DATA not answered with 354 is ErrData, nothing of msg sent.
func (s *Session) Data(ctx context.Context, msg []byte) (Reply, error) {
	return s.command(ctx, "data", func() C.smtp_result {
		return C.smtp_client_data(s.p, bytesPtr(msg), C.size_t(len(msg)))
	})
}

// Rset is smtplib's rset(): the reply whatever its code.
func (s *Session) Rset(ctx context.Context) (Reply, error) {
	return s.command(ctx, "rset", func() C.smtp_result { return C.smtp_client_rset(s.p) })
}

// Verify is smtplib's verify(address): VRFY with the bare address; the reply whatever its code.
func (s *Session) Verify(ctx context.Context, address string) (Reply, error) {
	c, err := cString("address", address)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(c))
	return s.command(ctx, "verify", func() C.smtp_result { return C.smtp_client_verify(s.p, c) })
}

// Expn is smtplib's expn(address): EXPN; the reply whatever its code.
func (s *Session) Expn(ctx context.Context, address string) (Reply, error) {
	c, err := cString("address", address)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(c))
	return s.command(ctx, "expn", func() C.smtp_result { return C.smtp_client_expn(s.p, c) })
}

// Help is smtplib's help(args) ("": HELP alone); the reply whatever its code.
func (s *Session) Help(ctx context.Context, args string) (Reply, error) {
	c, err := optionalCString("args", args)
	if err != nil {
		return Reply{}, err
	}
	defer C.free(unsafe.Pointer(c))
	return s.command(ctx, "help", func() C.smtp_result { return C.smtp_client_help(s.p, c) })
}

// Disconnect is smtplib's close(): the connection is closed without sending anything; the
// Session stays usable (Connect again) until Close frees it.
func (s *Session) Disconnect() error {
	return s.setting("close", func() C.smtp_result { return C.smtp_client_close(s.p) })
}

// DoesESMTP is smtplib's does_esmtp: whether the server accepted EHLO / LHLO.
func (s *Session) DoesESMTP() bool { return bool(C.smtp_client_does_esmtp(s.p)) }

// Feature is smtplib's esmtp_features[name]: the parameters advertised with the extension
// ("" for a bare keyword), and whether it was advertised at all.
func (s *Session) Feature(name string) (string, bool) {
	c, err := cString("name", name)
	if err != nil {
		return "", false // no extension name contains NUL
	}
	defer C.free(unsafe.Pointer(c))
	p := C.smtp_client_feature(s.p, c)
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// Features is every extension the server advertised: lower-case keyword to parameters.
func (s *Session) Features() map[string]string {
	n := int(C.smtp_client_feature_count(s.p))
	out := make(map[string]string, n)
	for i := 0; i < n; i++ {
		var name, params *C.char
		if C.smtp_client_feature_get(s.p, C.size_t(i), &name, &params) == C.SMTP_RESULT_OK {
			out[C.GoString(name)] = C.GoString(params)
		}
	}
	return out
}

// HeloResp and EhloResp are smtplib's helo_resp / ehlo_resp: the text of the last reply to
// HELO or EHLO (LHLO), and whether there was one.
func (s *Session) HeloResp() (string, bool) { return optionalGoString(C.smtp_client_helo_resp(s.p)) }
func (s *Session) EhloResp() (string, bool) { return optionalGoString(C.smtp_client_ehlo_resp(s.p)) }

func optionalGoString(p *C.char) (string, bool) {
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// SetPipelining and SetChunking choose whether PIPELINING and CHUNKING (BDAT) are used when
// the server offers them (true, the default) or never.
func (s *Session) SetPipelining(use bool) error {
	return s.setting("set_pipelining", func() C.smtp_result { return C.smtp_client_set_pipelining(s.p, extensionUse(use)) })
}

func (s *Session) SetChunking(use bool) error {
	return s.setting("set_chunking", func() C.smtp_result { return C.smtp_client_set_chunking(s.p, extensionUse(use)) })
}

func extensionUse(use bool) C.int32_t {
	if use {
		return C.SMTP_EXTENSION_USE_WHEN_OFFERED
	}
	return C.SMTP_EXTENSION_USE_NEVER
}

// SetCleartextCredentials allows (true; INSECURE: anyone on the path reads them) or refuses
// (false, the default) sending credentials over a connection without TLS to any server.
func (s *Session) SetCleartextCredentials(allow bool) error {
	v := C.int32_t(C.SMTP_CLEARTEXT_CREDENTIALS_REFUSE)
	if allow {
		v = C.SMTP_CLEARTEXT_CREDENTIALS_ALLOW
	}
	return s.setting("set_cleartext_credentials", func() C.smtp_result { return C.smtp_client_set_cleartext_credentials(s.p, v) })
}

// SetLocalPeerTrusted says whether a loopback or Unix-socket server is trusted with
// credentials without TLS (true, the default) or needs TLS like any other (false).
func (s *Session) SetLocalPeerTrusted(trusted bool) error {
	v := C.int32_t(C.SMTP_LOCAL_PEER_TRUSTED)
	if !trusted {
		v = C.SMTP_LOCAL_PEER_UNTRUSTED
	}
	return s.setting("set_local_peer", func() C.smtp_result { return C.smtp_client_set_local_peer(s.p, v) })
}

// SetLoginMechanisms chooses the mechanisms Login may use, in the order to try them (e.g.
// "CRAM-MD5", "PLAIN", "LOGIN" for smtplib's order); no names restores the default, strongest
// first. An unknown or repeated name is ErrInvalidArgument and leaves the setting unchanged.
func (s *Session) SetLoginMechanisms(mechanisms ...string) error {
	var c *C.char
	if len(mechanisms) > 0 {
		for i, m := range mechanisms {
			if m == "" || strings.ContainsAny(m, " ,") {
				return &Error{Op: "set_login_mechanisms", Code: ErrInvalidArgument,
					Message: fmt.Sprintf("mechanisms[%d] is not one mechanism name", i)}
			}
		}
		var err error
		if c, err = cString("mechanisms", strings.Join(mechanisms, " ")); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(c))
	}
	return s.setting("set_login_mechanisms", func() C.smtp_result { return C.smtp_client_set_login_mechanisms(s.p, c) })
}

// SetSourceAddress binds the local end to host (an address or name) and port (0: any) before
// connecting (smtplib's source_address); host "" removes the setting.
func (s *Session) SetSourceAddress(host string, port uint16) error {
	c, err := optionalCString("host", host)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(c))
	return s.setting("set_source_address", func() C.smtp_result { return C.smtp_client_set_source_address(s.p, c, C.uint16_t(port)) })
}

// OAuthMechanism is the SASL mechanism of LoginOAuth (smtp_oauth_mechanism).
type OAuthMechanism int32

const (
	XOAUTH2     OAuthMechanism = C.SMTP_OAUTH_MECHANISM_XOAUTH2     // Google's and Microsoft's
	OAUTHBEARER OAuthMechanism = C.SMTP_OAUTH_MECHANISM_OAUTHBEARER // RFC 7628
)

// LoginOAuth logs in with an OAuth 2.0 bearer token. The mechanism must be advertised (else
// ErrSMTP); a refused token is ErrAuthentication, with the server's JSON status in the
// message. The same credential policy as Login applies.
func (s *Session) LoginOAuth(ctx context.Context, mechanism OAuthMechanism, user, token string) error {
	cu, err := cString("user", user)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cu))
	ct, err := cString("token", token)
	if err != nil {
		return err
	}
	defer func() {
		b := unsafe.Slice((*byte)(unsafe.Pointer(ct)), len(token))
		for i := range b {
			b[i] = 0 // wipe the C copy of the token before freeing it
		}
		C.free(unsafe.Pointer(ct))
	}()
	return s.network(ctx, "login_oauth", func() C.smtp_result {
		return C.smtp_client_login_oauth(s.p, C.int32_t(mechanism), cu, ct)
	})
}
