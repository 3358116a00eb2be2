package smtpclient_test

// A string argument holding a NUL byte is refused with an error wrapping ErrNULInString and
// naming the argument, before the C library is called; it is never truncated at the NUL.
//
// TestSendmailRefusesNULInRecipient needs the test bed's Postfix (SMTP_HOST, default
// localhost; SMTP_PORT, default 2525).

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"smtpclientexample/smtpclient"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func testBedPort(t *testing.T) uint16 {
	port, err := strconv.ParseUint(env("SMTP_PORT", "2525"), 10, 16)
	if err != nil {
		t.Fatalf("SMTP_PORT: %v", err)
	}
	return uint16(port)
}

func newSession(t *testing.T) *smtpclient.Session {
	s, err := smtpclient.New(smtpclient.KindSMTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

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
	s := newSession(t)
	expectRefused(t, s.Connect("localhost\x00.invalid", testBedPort(t)), "host")
}

// Refused before anything is sent, and the session stays usable.
func TestSendmailRefusesNULInRecipient(t *testing.T) {
	s := newSession(t)
	if err := s.SetTimeoutMs(30000); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(env("SMTP_HOST", "localhost"), testBedPort(t)); err != nil {
		t.Fatal(err)
	}
	if s.LastReplyCode() != 220 {
		t.Fatalf("greeting: got %d, want 220", s.LastReplyCode())
	}
	err := s.Sendmail("alice@example.test", []string{"bob@example.test", "a@b\x00x"},
		[]byte("Subject: x\r\n\r\nx\r\n"))
	expectRefused(t, err, "to[1]")
	// Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
	if s.LastReplyCode() != 220 {
		t.Fatalf("a command was sent: the last reply is %d, no longer the greeting", s.LastReplyCode())
	}
	if err := s.Noop(); err != nil {
		t.Fatalf("NOOP after the refusal: %v", err)
	}
	if s.LastReplyCode() != 250 {
		t.Fatalf("NOOP after the refusal: got %d, want 250", s.LastReplyCode())
	}
	if err := s.Quit(); err != nil {
		t.Fatal(err)
	}
}

// Every other string argument of the package goes through the same check.
func TestEveryStringArgumentIsChecked(t *testing.T) {
	const bad = "a@b\x00x"
	s := newSession(t)
	noAuth := func([]byte, bool, bool) ([]byte, error) { return nil, errors.New("not called") }
	for _, c := range []struct {
		argument string
		err      error
	}{
		{"path", s.SetTLSCAFile(bad)},
		{"user", s.Login(bad, "pass")},
		{"password", s.Login("user", bad)},
		{"mechanism", s.Auth(bad, noAuth, true)},
		{"from", s.Sendmail(bad, []string{"bob@example.test"}, []byte("x"))},
	} {
		expectRefused(t, c.err, c.argument)
	}
}
