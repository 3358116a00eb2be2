package smtpclient_test

import (
	"errors"
	"testing"

	"libsmtpclient.example/smtpclient"
)

func TestLoginWrongPasswordIsAuthenticationError(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	err := s.Login(ctx, user, "not-"+password)
	var e *smtpclient.Error
	if !errors.Is(err, smtpclient.ErrAuthentication) || !errors.As(err, &e) || e.ReplyCode != 535 {
		t.Fatalf("got %v, want ErrAuthentication with 535", err)
	}
	if s.IsAuthenticated() {
		t.Fatal("authenticated after a refused login")
	}
}

// AUTH PLAIN computed in Go: the initial response on the AUTH line.
func TestAuthCallbackPlain(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	calls := 0
	err := s.Auth(ctx, "PLAIN", func(challenge []byte, isInitial, tlsActive bool) ([]byte, error) {
		calls++
		if !isInitial || !tlsActive || challenge != nil {
			t.Errorf("step: initial %v, TLS %v, challenge %q", isInitial, tlsActive, challenge)
		}
		return []byte("\x00" + user + "\x00" + password), nil
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !s.IsAuthenticated() || s.LastReplyCode() != 235 {
		t.Fatalf("calls %d, authenticated %v, reply %d: want 1, true, 235", calls, s.IsAuthenticated(), s.LastReplyCode())
	}
}

// AUTH LOGIN without an initial response: the callback answers the server's challenges.
func TestAuthCallbackAnswersChallenges(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	var challenges []string
	err := s.Auth(ctx, "LOGIN", func(challenge []byte, isInitial, _ bool) ([]byte, error) {
		if isInitial {
			return nil, smtpclient.ErrNoInitialResponse
		}
		challenges = append(challenges, string(challenge))
		if len(challenges) == 1 {
			return []byte(user), nil
		}
		return []byte(password), nil
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(challenges) != 2 || challenges[0] != "Username:" || challenges[1] != "Password:" {
		t.Fatalf("challenges %q, want Username: and Password:", challenges)
	}
}

// An error from the callback cancels the exchange and comes back from Auth, wrapped.
func TestAuthCallbackErrorCancels(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	errNoToken := errors.New("no token available")
	err := s.Auth(ctx, "PLAIN", func([]byte, bool, bool) ([]byte, error) { return nil, errNoToken }, true)
	if !errors.Is(err, errNoToken) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatalf("the session is unusable after a cancelled AUTH: %v", err)
	}
}

// A panic in the callback does not unwind through C: it is raised again by Auth.
func TestAuthCallbackPanicIsRaisedAfterTheCall(t *testing.T) {
	ctx := testContext(t)
	s := connectedTLS(t, ctx)
	defer func() {
		if r := recover(); r != "callback bug" {
			t.Fatalf("recovered %v, want the callback's panic", r)
		}
		if err := s.Noop(ctx); err != nil {
			t.Fatalf("the session is unusable after the panic: %v", err)
		}
	}()
	_ = s.Auth(ctx, "PLAIN", func([]byte, bool, bool) ([]byte, error) { panic("callback bug") }, true)
	t.Fatal("Auth returned instead of panicking")
}
