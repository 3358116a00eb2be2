// The Go consumer: STARTTLS, login, a message to two recipients of which one is refused, the
// refused list, delivery checked in the Maildir, then AUTH PLAIN through a Go callback.
//
// Settings from the environment (defaults for the test bed of tests/servers/up.sh):
// SMTP_HOST (localhost), SMTP_PORT (2525), SMTP_CA_FILE, SMTP_USER (alice), SMTP_PASS
// (alice-pass), POSTFIX_MAILDIR (bob's Maildir is $POSTFIX_MAILDIR/bob).
//
// Build: PKG_CONFIG_PATH=<prefix>/lib/pkgconfig GOFLAGS=-mod=mod go build -o smtp-go .
// Exit status: 0 when every step worked, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"libsmtpclient.example/smtpclient"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// waitForMarker returns the file of dir that contains marker, or "" after timeout.
func waitForMarker(dir, marker string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
				return p
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func run() error {
	host := env("SMTP_HOST", "localhost")
	port, err := strconv.Atoi(env("SMTP_PORT", "2525"))
	if err != nil {
		return fmt.Errorf("SMTP_PORT: %w", err)
	}
	ca := env("SMTP_CA_FILE", "/tmp/smtpclient-testbed/tls/ca.crt")
	user := env("SMTP_USER", "alice")
	pass := env("SMTP_PASS", "alice-pass")
	maildir := env("POSTFIX_MAILDIR", "/tmp/smtpclient-testbed/mail/postfix")
	marker := fmt.Sprintf("go-%d-%d", os.Getpid(), time.Now().Unix())

	fmt.Printf("library %s, header %s\n", smtpclient.LibraryVersion(), smtpclient.HeaderVersion)
	if smtpclient.LibraryVersionNumber() != smtpclient.HeaderVersionNumber {
		return fmt.Errorf("the library's version is not the header's")
	}

	// Every network call of this run must end within the same two minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Session 1: STARTTLS, login, send.
	s, err := smtpclient.New(smtpclient.KindSMTP)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.SetTLSCAFile(ca); err != nil {
		return err
	}
	if err := s.Connect(ctx, host, uint16(port)); err != nil {
		return err
	}
	fmt.Printf("connected to %s:%d\n", host, port)
	if err := s.StartTLS(ctx); err != nil {
		return err
	}
	if tls := s.TLS(); !tls.Active || !tls.PeerVerified {
		return fmt.Errorf("STARTTLS: TLS not active or peer not verified")
	} else {
		fmt.Printf("STARTTLS: %s %s, certificate verified against %s\n", tls.Version, tls.Cipher, ca)
	}
	if err := s.Login(ctx, user, pass); err != nil {
		return err
	}
	fmt.Printf("logged in as %s (smtp_client_login)\n", user)

	msg := []byte("From: <alice@example.test>\r\n" +
		"To: <bob@example.test>, <reject550@example.test>\r\n" +
		"Subject: libsmtpclient Go example " + marker + "\r\n" +
		"\r\n" +
		"Sent by examples/go through cgo.\r\n")
	recipients, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test", "reject550@example.test"}, msg, nil)
	if err != nil {
		return err
	}
	for _, r := range recipients {
		fmt.Printf("recipient %s: RCPT %d, accepted %v, %s %s\n", r.Address, r.RCPTCode, r.Accepted(), r.EnhancedStatus, r.Text)
	}
	refused := s.Refused()
	for _, r := range refused {
		fmt.Printf("refused: %s %d %s\n", r.Address, r.Code, r.Text)
	}
	if len(refused) != 1 || refused[0].Address != "reject550@example.test" || refused[0].Code != 550 {
		return fmt.Errorf("expected exactly reject550@example.test refused with 550, got %v", refused)
	}
	fmt.Printf("sent to bob@example.test (marker %s)\n", marker)
	if err := s.Quit(ctx); err != nil {
		return err
	}
	s.Close()

	file := waitForMarker(filepath.Join(maildir, "bob", "new"), marker, 30*time.Second)
	if file == "" {
		return fmt.Errorf("the message did not arrive in bob's Maildir within 30 s")
	}
	fmt.Printf("delivered: %s\n", file)

	// Session 2: AUTH PLAIN, the initial response built here in Go.
	s2, err := smtpclient.New(smtpclient.KindSMTP)
	if err != nil {
		return err
	}
	defer s2.Close()
	if err := s2.SetTLSCAFile(ca); err != nil {
		return err
	}
	if err := s2.Connect(ctx, host, uint16(port)); err != nil {
		return err
	}
	if err := s2.StartTLS(ctx); err != nil {
		return err
	}
	calls := 0
	err = s2.Auth(ctx, "PLAIN", func(challenge []byte, isInitial, tlsActive bool) ([]byte, error) {
		calls++
		if !isInitial || !tlsActive {
			return nil, fmt.Errorf("unexpected step (initial %v, TLS %v)", isInitial, tlsActive)
		}
		return []byte("\x00" + user + "\x00" + pass), nil
	}, true)
	if err != nil {
		return err
	}
	fmt.Printf("AUTH PLAIN through a callback: %d %s (callback called %d time(s))\n",
		s2.LastReplyCode(), s2.LastReplyText(), calls)
	if calls != 1 || s2.LastReplyCode() != 235 {
		return fmt.Errorf("AUTH PLAIN through the callback: want one call and 235")
	}
	return s2.Quit(ctx)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("Go example: all steps passed")
}
