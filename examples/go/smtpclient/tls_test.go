package smtpclient_test

import (
	"errors"
	"io/fs"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// TLSPolicyRequired: Login does STARTTLS first, verified against the test CA, TLS 1.3 at least.
func TestTLSPolicyRequiredBeforeLogin(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	for _, err := range []error{
		s.SetTLSCAFile(caFile),
		s.SetTLSMinVersion(smtpclient.TLS13),
		s.SetTLSPolicy(smtpclient.TLSPolicyRequired),
		s.Connect(ctx, host, plainPort),
		s.Login(ctx, user, password),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tls := s.TLS()
	if !tls.Active || !tls.PeerVerified || tls.Version != "TLSv1.3" || tls.Cipher == "" {
		t.Fatalf("TLS state %+v, want active, verified TLSv1.3", tls)
	}
	if !s.IsAuthenticated() {
		t.Fatal("not authenticated")
	}
}

// A server name the certificate does not carry: ErrTLSCertificate, a kind of ErrTLS.
func TestTLSWrongServerNameIsRefused(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetTLSCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTLSServerName("not-this-server.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	err := s.StartTLS(ctx)
	if !errors.Is(err, smtpclient.ErrTLSCertificate) || !errors.Is(err, smtpclient.ErrTLS) {
		t.Fatalf("got %v, want ErrTLSCertificate", err)
	}
	if s.TLS().Active {
		t.Fatal("TLS active after a failed verification")
	}
}

// A CA file that does not exist is refused at once, with the errno.
func TestTLSMissingCAFile(t *testing.T) {
	s := newSession(t, smtpclient.KindSMTP)
	err := s.SetTLSCAFile("/nonexistent/ca.pem")
	if !errors.Is(err, smtpclient.ErrInvalidArgument) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want ErrInvalidArgument wrapping ENOENT", err)
	}
}
