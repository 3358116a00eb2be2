package smtpclient_test

import (
	"path/filepath"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// LMTP over Dovecot's Unix socket: one reply per recipient after the data. 'full' has a 1-byte
// quota, so it is accepted at RCPT and refused after the data.
func TestLMTPPerRecipientReplies(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindLMTP)
	if err := s.Connect(ctx, lmtpSock, 0); err != nil {
		t.Fatal(err)
	}
	marker := uniqueMarker(t)
	recipients, err := s.Sendmail(ctx, "alice@example.test",
		[]string{"bob@example.test", "full@example.test"}, message(marker), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 2 {
		t.Fatalf("got %+v, want two recipients", recipients)
	}
	bob, full := recipients[0], recipients[1]
	if bob.RCPTCode != 250 || bob.DataCode != 250 || !bob.Accepted() {
		t.Errorf("bob: got %+v, want 250 at RCPT and after the data", bob)
	}
	if full.RCPTCode != 250 || full.DataCode != 552 || full.Accepted() || full.EnhancedStatus.Class != 5 {
		t.Errorf("full: got %+v, want 250 at RCPT, 552 5.x.x after the data", full)
	}
	if refused := s.Refused(); len(refused) != 1 || refused[0].Address != "full@example.test" || refused[0].Code != 552 {
		t.Errorf("Refused() = %+v, want full@example.test 552", refused)
	}
	if err := s.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	waitForDelivery(t, filepath.Join(lmtpMail, "bob", "new"), marker)
}
