package smtpclient_test

import (
	"errors"
	"path/filepath"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// One recipient accepted, one refused: no error, and every recipient's outcome.
func TestSendmailReportsEveryRecipient(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	marker := uniqueMarker(t)
	recipients, err := s.Sendmail(ctx, "alice@example.test",
		[]string{"bob@example.test", "reject550@example.test"}, message(marker), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 2 {
		t.Fatalf("got %+v, want two recipients", recipients)
	}
	bob, rejected := recipients[0], recipients[1]
	if bob.Address != "bob@example.test" || bob.RCPTCode != 250 || bob.DataCode != 0 || !bob.Accepted() {
		t.Errorf("bob: got %+v, want accepted with 250", bob)
	}
	if rejected.Address != "reject550@example.test" || rejected.RCPTCode != 550 || rejected.Accepted() ||
		rejected.EnhancedStatus != (smtpclient.EnhancedStatus{Class: 5, Subject: 1, Detail: 1}) {
		t.Errorf("reject550: got %+v, want refused with 550 5.1.1", rejected)
	}
	if refused := s.Refused(); len(refused) != 1 || refused[0].Address != "reject550@example.test" || refused[0].Code != 550 {
		t.Errorf("Refused() = %+v, want reject550@example.test 550", refused)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
}

// Every recipient refused: ErrRecipientsRefused, and the refusals still listed.
func TestSendmailAllRefused(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	recipients, err := s.Sendmail(ctx, "alice@example.test", []string{"reject550@example.test"}, message("x"), nil)
	// As in smtplib, SMTPRecipientsRefused is an SMTPException but not a response error.
	if !errors.Is(err, smtpclient.ErrRecipientsRefused) || !errors.Is(err, smtpclient.ErrSMTP) ||
		errors.Is(err, smtpclient.ErrResponse) {
		t.Fatalf("got %v, want ErrRecipientsRefused, a kind of ErrSMTP only", err)
	}
	var e *smtpclient.Error
	if !errors.As(err, &e) || e.ReplyCode != 550 {
		t.Fatalf("got %#v, want the 550 refusal as the error's reply", err)
	}
	if len(recipients) != 1 || recipients[0].RCPTCode != 550 || recipients[0].Accepted() {
		t.Fatalf("got %+v, want the one refused recipient", recipients)
	}
}

// send_message: the envelope from the headers, Bcc not transmitted, ESMTP options passed on.
func TestSendMessageTakesTheEnvelopeFromHeaders(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	marker := uniqueMarker(t)
	msg := []byte("From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n" +
		"Bcc: reject550@example.test\r\nSubject: " + marker + "\r\n\r\nsend_message from Go.\r\n")
	recipients, err := s.SendMessage(ctx, msg, "", nil,
		&smtpclient.SendOptions{MailOptions: []string{"BODY=8BITMIME"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 2 || recipients[0].Address != "bob@example.test" || !recipients[0].Accepted() ||
		recipients[1].Address != "reject550@example.test" || recipients[1].Accepted() {
		t.Fatalf("got %+v, want bob accepted and the Bcc reject550 refused", recipients)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), marker)
}

// An option the library refuses before anything is sent comes back as ErrInvalidArgument.
func TestSendOptionsAreChecked(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	_, err := s.Sendmail(ctx, "alice@example.test", []string{"bob@example.test"}, message("x"),
		&smtpclient.SendOptions{MailOptions: []string{"TWO WORDS"}})
	if !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Fatalf("got %v, want ErrInvalidArgument", err)
	}
}
