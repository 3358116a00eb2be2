package smtpclient_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"libsmtpclient.example/smtpclient"
)

// mailWith waits up to 30 s for a message of dir holding marker and returns it.
func mailWith(t *testing.T, dir, marker string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.Contains(b, []byte(marker)) {
				return b
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no message with %s in %s within 30 s", marker, dir)
	return nil
}

// NOTIFY=SUCCESS for bob: Postfix delivers, then sends alice a delivery status notification
// carrying the ENVID and bob's ORCPT; reject550's NEVER asks for none about its refusal.
func TestDSNSuccessNotification(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	marker := uniqueMarker(t)
	envid := "go-dsn " + marker
	orcpt := "orig+" + marker + "@example.test"
	recipients, err := s.Sendmail(ctx, "alice@example.test",
		[]string{"bob@example.test", "reject550@example.test"}, message(marker),
		&smtpclient.SendOptions{
			DSNRet:   smtpclient.DSNRetHeaders,
			DSNEnvID: envid,
			DSN: map[string]smtpclient.DSN{
				"Bob@Example.test":       {Notify: smtpclient.NotifySuccess | smtpclient.NotifyFailure, ORCPT: orcpt},
				"reject550@example.test": {Notify: smtpclient.NotifyNever},
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 2 || !recipients[0].Accepted() || recipients[1].Accepted() {
		t.Fatalf("got %+v, want bob accepted and reject550 refused", recipients)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
	// The ENVID comes back in the report's Original-Envelope-Id.
	report := string(mailWith(t, filepath.Join(maildir, "alice", "new"), marker))
	for _, want := range []string{"report-type=delivery-status", "Original-Envelope-Id: " + envid,
		"Original-Recipient: rfc822;" + orcpt, "Action: delivered"} {
		if !bytes.Contains([]byte(report), []byte(want)) {
			t.Errorf("the notification lacks %q:\n%s", want, report)
		}
	}
}

// DSN input the library refuses comes back before anything is sent.
func TestDSNBadInputIsRefused(t *testing.T) {
	ctx := testContext(t)
	s := connectedPlain(t, ctx)
	for name, opts := range map[string]*smtpclient.SendOptions{
		"NEVER with SUCCESS":  {DSN: map[string]smtpclient.DSN{"bob@example.test": {Notify: smtpclient.NotifyNever | smtpclient.NotifySuccess}}},
		"unknown flag":        {DSN: map[string]smtpclient.DSN{"bob@example.test": {Notify: 16}}},
		"recipient not sent":  {DSN: map[string]smtpclient.DSN{"carol@example.test": {Notify: smtpclient.NotifySuccess}}},
		"ENVID control char":  {DSNEnvID: "a\tb"},
		"unknown RET":         {DSNRet: 7},
		"unknown policy":      {DSNPolicy: 5, DSNRet: smtpclient.DSNRetFull},
		"raw RET and typed":   {DSNRet: smtpclient.DSNRetFull, MailOptions: []string{"RET=HDRS"}},
		"raw REQUIRETLS also": {RequireTLS: true, MailOptions: []string{"REQUIRETLS"}},
	} {
		_, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message("x"), opts)
		if !errors.Is(err, smtpclient.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
	_, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message("x"),
		&smtpclient.SendOptions{DSN: map[string]smtpclient.DSN{"bob@example.test": {ORCPT: "a\x00b"}}})
	if !errors.Is(err, smtpclient.ErrNULInString) {
		t.Errorf("ORCPT with NUL: got %v, want ErrNULInString", err)
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatalf("the session did not survive the refusals: %v", err)
	}
}

// REQUIRETLS over plain text: ErrTLSRequired before MAIL, and the session stays usable.
func TestRequireTLSWithoutTLSFailsBeforeMail(t *testing.T) {
	ctx := testContext(t)
	s := connectedPlain(t, ctx)
	recipients, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message("x"),
		&smtpclient.SendOptions{RequireTLS: true})
	if !errors.Is(err, smtpclient.ErrTLSRequired) {
		t.Fatalf("got %v, want ErrTLSRequired", err)
	}
	if len(recipients) != 0 {
		t.Fatalf("got recipients %+v: the transaction started", recipients)
	}
	if !s.IsConnected() {
		t.Fatal("the connection was closed")
	}
	marker := uniqueMarker(t)
	if _, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message(marker), nil); err != nil {
		t.Fatalf("a send without REQUIRETLS afterwards: %v", err)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
}
