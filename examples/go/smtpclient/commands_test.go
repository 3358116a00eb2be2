package smtpclient_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// A transaction driven command by command: each reply comes back whatever its code, the
// refused recipient is a 550 reply (not an error), and the message is delivered.
func TestLowLevelTransaction(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	if r, err := s.Mail(ctx, "alice@example.test", "BODY=8BITMIME"); err != nil || r.Code != 250 {
		t.Fatalf("MAIL: %+v, %v", r, err)
	}
	if r, err := s.Rcpt(ctx, "bob@example.test"); err != nil || r.Code != 250 {
		t.Fatalf("RCPT bob: %+v, %v", r, err)
	}
	if r, err := s.Rcpt(ctx, "reject550@example.test"); err != nil || r.Code != 550 || !strings.Contains(r.Text, "5.1.1") {
		t.Fatalf("RCPT reject550: %+v, %v; want the 550 reply and no error", r, err)
	}
	marker := uniqueMarker(t)
	if r, err := s.Data(ctx, message(marker)); err != nil || r.Code != 250 {
		t.Fatalf("DATA: %+v, %v", r, err)
	}
	if recipients := s.Recipients(); len(recipients) != 2 || !recipients[0].Accepted() || recipients[1].RCPTCode != 550 {
		t.Fatalf("Recipients() = %+v", recipients)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
	if r, err := s.Rset(ctx); err != nil || r.Code != 250 {
		t.Fatalf("RSET: %+v, %v", r, err)
	}
	if r, err := s.Docmd(ctx, "NOOP", ""); err != nil || r.Code != 250 {
		t.Fatalf("docmd NOOP: %+v, %v", r, err)
	}
	// An unknown command is a reply (502), not an error.
	if r, err := s.Docmd(ctx, "XNOSUCH", "arg"); err != nil || r.Code/100 != 5 {
		t.Fatalf("docmd XNOSUCH: %+v, %v; want a 5xx reply", r, err)
	}
	// A line break in a command is refused before anything is sent.
	if _, err := s.Docmd(ctx, "NOOP", "a\r\nQUIT"); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("docmd with CRLF: %v, want ErrInvalidArgument", err)
	}
	// Postfix answers VRFY (enabled) with 252 for a known user, 550 for an unknown one; it does
	// not know EXPN and HELP (500).
	if r, err := s.Verify(ctx, "Bob <bob@example.test>"); err != nil || r.Code != 252 {
		t.Fatalf("VRFY bob: %+v, %v", r, err)
	}
	if r, err := s.Verify(ctx, "nobody@example.test"); err != nil || r.Code != 550 {
		t.Fatalf("VRFY nobody: %+v, %v", r, err)
	}
	if r, err := s.Expn(ctx, "bob@example.test"); err != nil || r.Code != 500 {
		t.Fatalf("EXPN: %+v, %v", r, err)
	}
	if r, err := s.Help(ctx, ""); err != nil || r.Code != 500 {
		t.Fatalf("HELP: %+v, %v", r, err)
	}
}

// EHLO / HELO by hand, the advertised capabilities, and Disconnect.
func TestGreetingAndFeatures(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.EhloResp(); ok {
		t.Fatal("EhloResp before EHLO")
	}
	r, err := s.Ehlo(ctx, "client.example.test")
	if err != nil || r.Code != 250 || !s.DoesESMTP() {
		t.Fatalf("EHLO: %+v, %v, esmtp %v", r, err, s.DoesESMTP())
	}
	if text, ok := s.EhloResp(); !ok || !strings.Contains(text, "PIPELINING") {
		t.Fatalf("EhloResp() = %q, %v", text, ok)
	}
	if size, ok := s.Feature("size"); !ok || size != "10485760" {
		t.Fatalf("Feature(size) = %q, %v; want the test bed's 10485760", size, ok)
	}
	if _, ok := s.Feature("XNOSUCH"); ok {
		t.Fatal("Feature(XNOSUCH) advertised")
	}
	features := s.Features()
	if _, ok := features["starttls"]; !ok || !strings.Contains(features["auth"], "PLAIN") {
		t.Fatalf("Features() = %v", features)
	}
	if r, err := s.Helo(ctx, ""); err != nil || r.Code != 250 {
		t.Fatalf("HELO: %+v, %v", r, err)
	}
	if text, ok := s.HeloResp(); !ok || text == "" {
		t.Fatalf("HeloResp() = %q, %v", text, ok)
	}
	if err := s.EhloOrHeloIfNeeded(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Disconnect(); err != nil || s.IsConnected() {
		t.Fatalf("Disconnect: %v, connected %v", err, s.IsConnected())
	}
	// The session is reusable after Disconnect.
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
}

// Settings: source address, no pipelining or chunking, smtplib's login order.
func TestSessionSettings(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	for _, err := range []error{
		s.SetSourceAddress("127.0.0.1", 0), s.SetPipelining(false), s.SetChunking(false),
		s.SetLoginMechanisms("CRAM-MD5", "PLAIN", "LOGIN"), s.SetTLSCAFile(caFile),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetLoginMechanisms("PLAIN", "NOSUCH"); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("an unknown mechanism: %v, want ErrInvalidArgument", err)
	}
	if err := s.SetLoginMechanisms("PLAIN LOGIN"); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("two names in one: %v, want ErrInvalidArgument", err)
	}
	var debug []string
	if err := s.SetDebug(1, func(kind smtpclient.DebugKind, data []byte) { debug = append(debug, string(data)) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTLS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Login(ctx, user, password); err != nil {
		t.Fatal(err)
	}
	trace := strings.Join(debug, "\n")
	if !strings.Contains(trace, "AUTH CRAM-MD5") {
		t.Fatalf("login did not follow the chosen order (CRAM-MD5 first):\n%s", trace)
	}
	marker := uniqueMarker(t)
	if _, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message(marker), nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(trace, "BDAT") {
		t.Fatal("BDAT used with chunking off")
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
}

// Credentials over plain text: refused to an untrusted local peer before anything of AUTH is
// sent, allowed once cleartext credentials are.
func TestCredentialsPolicy(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetLocalPeerTrusted(false); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if err := s.Login(ctx, user, password); !errors.Is(err, smtpclient.ErrCredentialsPolicy) {
		t.Fatalf("login without TLS to an untrusted peer: %v, want ErrCredentialsPolicy", err)
	}
	if err := s.SetCleartextCredentials(true); err != nil {
		t.Fatal(err)
	}
	if err := s.Login(ctx, user, password); err != nil {
		t.Fatal(err)
	}
	if !s.IsAuthenticated() {
		t.Fatal("not authenticated after login")
	}
}

// OAuth against Postfix, which does not offer XOAUTH2 or OAUTHBEARER: the library says so
// (ErrSMTP, not an authentication failure); a token that is not a bearer token is refused
// before anything is sent.
func TestLoginOAuth(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	err := s.LoginOAuth(ctx, smtpclient.XOAUTH2, "alice@example.test", "ya29.token")
	var e *smtpclient.Error
	if !errors.As(err, &e) || e.Code != smtpclient.ErrSMTP || !strings.Contains(e.Message, "XOAUTH2") {
		t.Fatalf("XOAUTH2 not advertised: %v, want ErrSMTP naming XOAUTH2", err)
	}
	if err := s.LoginOAuth(ctx, smtpclient.OAUTHBEARER, "alice", "not a token"); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("a malformed token: %v, want ErrInvalidArgument", err)
	}
	if err := s.LoginOAuth(ctx, smtpclient.XOAUTH2, "alice", "tok\x00en"); !errors.Is(err, smtpclient.ErrNULInString) {
		t.Fatalf("a token with NUL: %v, want ErrNULInString", err)
	}
}
