package smtpclient_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// A sender Postfix refuses (553 5.7.1) is an ErrSenderRefused that errors.Is matches against
// its bases in the library's hierarchy, with the server's reply copied into the *Error.
func TestSenderRefusedMatchesItsBases(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	recipients, err := s.Sendmail(ctx, "reject553@example.test", []string{"bob@example.test"}, message("x"), nil)
	for _, base := range []smtpclient.Code{smtpclient.ErrSenderRefused, smtpclient.ErrResponse, smtpclient.ErrSMTP} {
		if !errors.Is(err, base) {
			t.Errorf("errors.Is(%v, %s) = false, want true", err, base.Name())
		}
	}
	for _, other := range []smtpclient.Code{smtpclient.ErrRecipientsRefused, smtpclient.ErrIO, smtpclient.ErrServerDisconnected} {
		if errors.Is(err, other) {
			t.Errorf("errors.Is(%v, %s) = true, want false", err, other.Name())
		}
	}
	var e *smtpclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false", err)
	}
	if e.Code != smtpclient.ErrSenderRefused || e.ReplyCode != 553 || e.EnhancedStatus.String() != "5.7.1" ||
		e.Sender != "reject553@example.test" || e.Op != "sendmail" {
		t.Errorf("got %+v, want SENDER_REFUSED, 553, 5.7.1, sender reject553@example.test, op sendmail", e)
	}
	if len(recipients) != 0 {
		t.Errorf("no RCPT was sent, got recipients %+v", recipients)
	}
	// The transaction was reset: the session is still usable.
	if err := s.Noop(ctx); err != nil {
		t.Fatalf("NOOP after the refusal: %v", err)
	}
}

// A port nothing listens on: ErrConnectionRefused, a kind of ErrIO, unwrapping to the errno.
func TestConnectionRefusedUnwrapsToErrno(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	s := newSession(t, smtpclient.KindSMTP)
	err = s.Connect(testContext(t), "127.0.0.1", closedPort)
	if !errors.Is(err, smtpclient.ErrConnectionRefused) || !errors.Is(err, smtpclient.ErrIO) {
		t.Fatalf("got %v, want ErrConnectionRefused, a kind of ErrIO", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("errors.Is(%v, syscall.ECONNREFUSED) = false", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a refused connection is not a deadline: %v", err)
	}
}

// The Code constants follow the same hierarchy among themselves.
func TestCodeHierarchy(t *testing.T) {
	for _, c := range []struct {
		code, base smtpclient.Code
		want       bool
	}{
		{smtpclient.ErrTimeout, smtpclient.ErrIO, true},
		{smtpclient.ErrTLSCertificate, smtpclient.ErrTLS, true},
		{smtpclient.ErrDeliveryUnknown, smtpclient.ErrServerDisconnected, true},
		{smtpclient.ErrTLSRequired, smtpclient.ErrNotSupported, true},
		{smtpclient.ErrIO, smtpclient.ErrTimeout, false},
		{smtpclient.ErrResponse, smtpclient.ErrSenderRefused, false},
	} {
		if got := errors.Is(c.code, c.base); got != c.want {
			t.Errorf("errors.Is(%s, %s) = %v, want %v", c.code.Name(), c.base.Name(), got, c.want)
		}
	}
	if smtpclient.ErrSenderRefused.Name() != "SMTP_RESULT_SENDER_REFUSED" {
		t.Errorf("Name() = %q", smtpclient.ErrSenderRefused.Name())
	}
}
