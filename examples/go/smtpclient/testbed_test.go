package smtpclient_test

// Helpers shared by the tests. They need the test bed of tests/servers/up.sh, read from the
// environment (examples/run-consumers.sh exports its env file): SMTP_HOST, SMTP_PORT (Postfix,
// STARTTLS and SASL), SMTP_CA_FILE, SMTP_USER, SMTP_PASS, POSTFIX_MAILDIR, LMTP_SOCKET and
// LMTP_MAILDIR (Dovecot), with the test bed's defaults.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"libsmtpclient.example/smtpclient"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

var (
	host      = env("SMTP_HOST", "localhost")
	caFile    = env("SMTP_CA_FILE", "/tmp/smtpclient-testbed/tls/ca.crt")
	user      = env("SMTP_USER", "alice")
	password  = env("SMTP_PASS", "alice-pass")
	maildir   = env("POSTFIX_MAILDIR", "/tmp/smtpclient-testbed/mail/postfix")
	lmtpSock  = env("LMTP_SOCKET", "/tmp/smtpclient-testbed/dovecot/lmtp.sock")
	lmtpMail  = env("LMTP_MAILDIR", "/tmp/smtpclient-testbed/mail/lmtp")
	plainPort = port("SMTP_PORT", "2525")
)

func port(name, fallback string) uint16 {
	p, err := strconv.ParseUint(env(name, fallback), 10, 16)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return uint16(p)
}

// testContext bounds every network call of a test.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newSession(t *testing.T, kind smtpclient.Kind) *smtpclient.Session {
	t.Helper()
	s, err := smtpclient.New(kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// connectedTLS is a session to Postfix after a verified STARTTLS.
func connectedTLS(t *testing.T, ctx context.Context) *smtpclient.Session {
	t.Helper()
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetTLSCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTLS(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// loggedIn is connectedTLS plus a login as the test user (Postfix relays only for it).
func loggedIn(t *testing.T, ctx context.Context) *smtpclient.Session {
	t.Helper()
	s := connectedTLS(t, ctx)
	if err := s.Login(ctx, user, password); err != nil {
		t.Fatal(err)
	}
	return s
}

// uniqueMarker names one test's message so that its delivery can be found.
func uniqueMarker(t *testing.T) string {
	return fmt.Sprintf("go-%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
}

func message(marker string) []byte {
	return []byte("From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: " + marker +
		"\r\n\r\nSent by the Go binding's tests.\r\n")
}

// waitForDelivery fails the test unless a file of dir holds marker within 30 s (delivery is
// asynchronous after the server's 250).
func waitForDelivery(t *testing.T, dir, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.Contains(b, []byte(marker)) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not delivered into %s within 30 s", marker, dir)
}

// connectedPlain is a session to Postfix without TLS (it delivers to the local users).
func connectedPlain(t *testing.T, ctx context.Context) *smtpclient.Session {
	t.Helper()
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	return s
}
