package smtpclient_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"libsmtpclient.example/smtpclient"
)

// A context already cancelled: the call returns its error without connecting.
func TestCancelledContextSendsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newSession(t, smtpclient.KindSMTP)
	err := s.Connect(ctx, host, plainPort)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if s.IsConnected() {
		t.Fatal("connected with a cancelled context")
	}
}

// silentServer accepts connections and never writes: a server that never greets.
func silentServer(t *testing.T) uint16 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // kept open until the test ends
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// timedConnect connects to port under ctx and says how long it took.
func timedConnect(ctx context.Context, s *smtpclient.Session, port uint16) (time.Duration, error) {
	start := time.Now()
	err := s.Connect(ctx, "127.0.0.1", port)
	return time.Since(start), err
}

// The deadline bounds the call: a server that never greets makes Connect time out at the
// deadline (not at the 60 s default), as both ErrTimeout and context.DeadlineExceeded.
func TestDeadlineBecomesTheTimeout(t *testing.T) {
	port := silentServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s := newSession(t, smtpclient.KindSMTP)
	elapsed, err := timedConnect(ctx, s, port)
	if !errors.Is(err, smtpclient.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrTimeout matching context.DeadlineExceeded", err)
	}
	if elapsed < 250*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("Connect took %v, want about the 300 ms deadline", elapsed)
	}
	// The deadline has passed: the next call does not start.
	if err := s.Noop(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, smtpclient.ErrSMTP) {
		t.Fatalf("after the deadline: got %v, want context.DeadlineExceeded before any call", err)
	}
}

// A deadline shortens the timeout for its call only: the next call without one waits for
// SetTimeout's value again, and its timeout is not a context error.
func TestDeadlineDoesNotStick(t *testing.T) {
	port := silentServer(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetTimeout(1500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if elapsed, err := timedConnect(ctx, s, port); !errors.Is(err, smtpclient.ErrTimeout) || elapsed > 1200*time.Millisecond {
		t.Fatalf("with a 200 ms deadline: %v after %v, want ErrTimeout well before 1.5 s", err, elapsed)
	}
	elapsed, err := timedConnect(context.Background(), s, port)
	if !errors.Is(err, smtpclient.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("without a deadline: got %v, want ErrTimeout that is no context error", err)
	}
	if elapsed < 1400*time.Millisecond || elapsed > 10*time.Second {
		t.Fatalf("without a deadline: timed out after %v, want SetTimeout's 1.5 s", elapsed)
	}
}

// A phase timeout: a server that never greets fails Connect after the greeting's limit, with
// a timeout naming the phase; it is no context error.
func TestPhaseTimeoutNamesThePhase(t *testing.T) {
	port := silentServer(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetRFC5321Timeouts(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPhaseTimeout(smtpclient.PhaseGreeting, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	elapsed, err := timedConnect(context.Background(), s, port)
	var e *smtpclient.Error
	if !errors.As(err, &e) || !errors.Is(err, smtpclient.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrTimeout that is no context error", err)
	}
	if !strings.Contains(e.Message, "during the greeting (the greeting timeout)") {
		t.Errorf("message %q does not name the greeting phase and its limit", e.Message)
	}
	if elapsed < 250*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("Connect took %v, want about the 300 ms greeting timeout", elapsed)
	}
	if smtpclient.PhaseGreeting.String() != "greeting" || smtpclient.PhaseDataEnd.String() != "final reply" {
		t.Errorf("phase names: %v, %v", smtpclient.PhaseGreeting, smtpclient.PhaseDataEnd)
	}
	if err := s.SetPhaseTimeout(smtpclient.Phase(42), time.Second); !errors.Is(err, smtpclient.ErrInvalidArgument) {
		t.Errorf("unknown phase: got %v, want ErrInvalidArgument", err)
	}
}

// The operation timeout bounds a whole call whatever the phase's own limit; a nearer context
// deadline replaces it for one call.
func TestOperationTimeout(t *testing.T) {
	port := silentServer(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetOperationTimeout(400 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	elapsed, err := timedConnect(context.Background(), s, port)
	var e *smtpclient.Error
	if !errors.As(err, &e) || !errors.Is(err, smtpclient.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrTimeout that is no context error", err)
	}
	if !strings.Contains(e.Message, "during the greeting (the operation timeout)") {
		t.Errorf("message %q does not name the greeting and the operation timeout", e.Message)
	}
	if elapsed < 350*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("Connect took %v, want about the 400 ms operation timeout", elapsed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if elapsed, err := timedConnect(ctx, s, port); !errors.Is(err, context.DeadlineExceeded) || elapsed > 350*time.Millisecond {
		t.Fatalf("with a 150 ms deadline: %v after %v, want the deadline first", err, elapsed)
	}
}
