package smtpclient_test

// A string argument holding a NUL byte is refused with an error wrapping ErrNULInString and
// naming the argument, before the C library is called; it is never truncated at the NUL.

import (
	"errors"
	"strings"
	"testing"

	"libsmtpclient.example/smtpclient"
)

func expectRefused(t *testing.T, err error, argument string) {
	t.Helper()
	if !errors.Is(err, smtpclient.ErrNULInString) {
		t.Fatalf("%s: got %v, want an error wrapping ErrNULInString (the string was passed on, cut at the NUL)",
			argument, err)
	}
	if !strings.Contains(err.Error(), argument+": ") {
		t.Fatalf("the error does not name the argument %s: %v", argument, err)
	}
}

// "localhost" is what C would see of this host: without the check, Connect would succeed.
func TestConnectRefusesNULInHost(t *testing.T) {
	s := newSession(t, smtpclient.KindSMTP)
	expectRefused(t, s.Connect(testContext(t), "localhost\x00.invalid", plainPort), "host")
}

// Refused before anything is sent, and the session stays usable.
func TestSendmailRefusesNULInRecipient(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if s.LastReplyCode() != 220 {
		t.Fatalf("greeting: got %d, want 220", s.LastReplyCode())
	}
	_, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test", "a@b\x00x"},
		[]byte("Subject: x\r\n\r\nx\r\n"), nil)
	expectRefused(t, err, "to[1]")
	// Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
	if s.LastReplyCode() != 220 {
		t.Fatalf("a command was sent: the last reply is %d, no longer the greeting", s.LastReplyCode())
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatalf("NOOP after the refusal: %v", err)
	}
	if s.LastReplyCode() != 250 {
		t.Fatalf("NOOP after the refusal: got %d, want 250", s.LastReplyCode())
	}
	if err := s.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// Every other string argument of the package goes through the same check.
func TestEveryStringArgumentIsChecked(t *testing.T) {
	const bad = "a@b\x00x"
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	second := func(_ []smtpclient.Recipient, err error) error { return err }
	noAuth := func([]byte, bool, bool) ([]byte, error) { return nil, errors.New("not called") }
	for _, c := range []struct {
		argument string
		err      error
	}{
		{"path", s.SetTLSCAFile(bad)},
		{"path", s.SetTLSCADir(bad)},
		{"chainFile", s.SetTLSClientCert(bad, "key.pem")},
		{"keyFile", s.SetTLSClientCert("chain.pem", bad)},
		{"name", s.SetTLSServerName(bad)},
		{"name", s.SetLocalHostname(bad)},
		{"user", s.Login(ctx, bad, "pass")},
		{"password", s.Login(ctx, "user", bad)},
		{"mechanism", s.Auth(ctx, bad, noAuth, true)},
		{"from", second(s.Sendmail(ctx, bad, []string{"bob@example.test"}, []byte("x"), nil))},
		{"to[0]", second(s.SendMessage(ctx, []byte("x"), "", []string{bad}, nil))},
		{"MailOptions[1]", second(s.Sendmail(ctx, "a@b", []string{"c@d"}, []byte("x"),
			&smtpclient.SendOptions{MailOptions: []string{"BODY=8BITMIME", bad}}))},
		{"RcptOptions[0]", second(s.Sendmail(ctx, "a@b", []string{"c@d"}, []byte("x"),
			&smtpclient.SendOptions{RcptOptions: []string{bad}}))},
	} {
		expectRefused(t, c.err, c.argument)
	}
}
