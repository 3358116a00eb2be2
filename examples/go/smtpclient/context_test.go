package smtpclient_test

import (
	"context"
	"errors"
	"net"
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
