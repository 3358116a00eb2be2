package smtpclient_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// Dial with smtp+starttls://user:password@host:port: connected, STARTTLS verified against the
// test CA (the URL's policy is required), logged in; the message arrives.
func TestDialStarttlsURL(t *testing.T) {
	ctx := testContext(t)
	url := fmt.Sprintf("smtp+starttls://%s:%s@%s:%d", user, password, host, plainPort)
	s, err := smtpclient.Dial(ctx, url, func(s *smtpclient.Session) error { return s.SetTLSCAFile(caFile) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if tls := s.TLS(); !tls.Active || !tls.PeerVerified || !s.IsAuthenticated() {
		t.Fatalf("TLS %+v, authenticated %v: want a verified TLS session, logged in", tls, s.IsAuthenticated())
	}
	marker := uniqueMarker(t)
	if _, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message(marker), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	waitForDelivery(t, maildir+"/bob/new", marker)
}

// Dial of a URL without credentials connects only; lmtp+unix:// makes an LMTP session.
func TestDialLMTPUnixURL(t *testing.T) {
	ctx := testContext(t)
	s, err := smtpclient.Dial(ctx, "lmtp+unix://"+lmtpSock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.IsAuthenticated() || !s.IsConnected() {
		t.Fatal("want connected, not authenticated")
	}
	marker := uniqueMarker(t)
	recipients, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message(marker), nil)
	if err != nil || len(recipients) != 1 || recipients[0].DataCode != 250 {
		t.Fatalf("got %+v, %v; want bob's own 250 after the data", recipients, err)
	}
	waitForDelivery(t, lmtpMail+"/bob/new", marker)
}

// The URL's credentials are replaced by a later URL without them: LoginURL has nothing to send.
func TestSetURLThenLoginURL(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	for _, err := range []error{
		s.SetURL(fmt.Sprintf("smtp://%s:%s@%s:%d/?tls=required", user, password, host, plainPort)),
		s.SetTLSCAFile(caFile),
		s.ConnectURL(ctx),
		s.LoginURL(ctx),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !s.TLS().Active || !s.IsAuthenticated() {
		t.Fatal("?tls=required: want STARTTLS before the login")
	}
	if err := s.SetURL("smtp://" + host); !errors.Is(err, smtpclient.ErrBadState) {
		t.Fatalf("SetURL while connected: got %v, want ErrBadState", err)
	}
	t2 := newSession(t, smtpclient.KindSMTP)
	if err := t2.SetURL(fmt.Sprintf("smtp://%s:%d", host, plainPort)); err != nil {
		t.Fatal(err)
	}
	if err := t2.ConnectURL(ctx); err != nil {
		t.Fatal(err)
	}
	if err := t2.LoginURL(ctx); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("LoginURL without credentials: got %v, want ErrInvalidArgument", err)
	}
}

// Malformed URLs fail with ErrInvalidArgument naming the part and never quoting the
// password; a scheme of another kind than the session's is refused; Dial leaves nothing open.
func TestURLErrors(t *testing.T) {
	ctx := testContext(t)
	for _, tc := range []struct{ url, part string }{
		{"smtp://alice:hunter2-secret@mail.example.org:99999", "port"},
		{"imap://alice:hunter2-secret@mail.example.org", "scheme"},
		{"smtp://alice:hunter2-secret@mail.example.org/path", "path"},
	} {
		s, err := smtpclient.Dial(ctx, tc.url)
		if s != nil || !errors.Is(err, smtpclient.ErrInvalidArgument) {
			t.Errorf("Dial(%q): got %v, %v; want ErrInvalidArgument", tc.url, s, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.part) || strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("Dial(%q): %q should name the %s and not quote the password", tc.url, err, tc.part)
		}
	}
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetURL("smtps://" + host); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Errorf("smtps:// on an SMTP session: got %v, want ErrInvalidArgument", err)
	}
	if err := s.ConnectURL(ctx); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Errorf("ConnectURL without a URL: got %v, want ErrInvalidArgument", err)
	}
	if err := s.SetURL("smtp://h\x00ost"); !errors.Is(err, smtpclient.ErrNULInString) {
		t.Errorf("a NUL: got %v, want ErrNULInString", err)
	}
	// InProgress is a Code, not a failure of anything.
	if smtpclient.InProgress.Name() != "SMTP_RESULT_IN_PROGRESS" || smtpclient.InProgress.Is(smtpclient.ErrSMTP) {
		t.Errorf("InProgress: %s", smtpclient.InProgress.Name())
	}
}
