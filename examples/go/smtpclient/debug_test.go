package smtpclient_test

import (
	"bytes"
	"testing"

	"libsmtpclient.example/smtpclient"
)

type debugEvent struct {
	kind smtpclient.DebugKind
	data string
}

// The debug callback sees the connection, the commands and the replies, on the calling goroutine.
func TestDebugCallbackSeesTheDialogue(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	var events []debugEvent // no lock: the callback runs during this goroutine's calls only
	if err := s.SetDebug(1, func(kind smtpclient.DebugKind, data []byte) {
		events = append(events, debugEvent{kind, string(data)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, host, plainPort); err != nil {
		t.Fatal(err)
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	has := func(kind smtpclient.DebugKind, part string) bool {
		for _, e := range events {
			if e.kind == kind && bytes.Contains([]byte(e.data), []byte(part)) {
				return true
			}
		}
		return false
	}
	if !has(smtpclient.DebugConnect, "") || !has(smtpclient.DebugReceived, "220") ||
		!has(smtpclient.DebugSent, "NOOP") || !has(smtpclient.DebugReceived, "250") {
		t.Fatalf("missing connect, greeting, NOOP or its reply among %+v", events)
	}
	// Back to stderr: the Go callback is released and no longer called.
	if err := s.SetDebug(0, nil); err != nil {
		t.Fatal(err)
	}
	n := len(events)
	if err := s.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if len(events) != n {
		t.Fatalf("the callback was called after being replaced: %+v", events[n:])
	}
}

// A panic in the debug callback is raised again when the session call returns.
func TestDebugCallbackPanicIsRaisedAfterTheCall(t *testing.T) {
	ctx := testContext(t)
	s := newSession(t, smtpclient.KindSMTP)
	if err := s.SetDebug(1, func(smtpclient.DebugKind, []byte) { panic("debug bug") }); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "debug bug" {
			t.Fatalf("recovered %v, want the callback's panic", r)
		}
	}()
	_ = s.Connect(ctx, host, plainPort)
	t.Fatal("Connect returned instead of panicking")
}
