package smtpclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"libsmtpclient.example/smtpclient"
)

// A body of 3 MB from an io.Reader, read in chunks, delivered whole (its last line found).
func TestSendmailStreamDelivers(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	marker := uniqueMarker(t)
	var body bytes.Buffer
	body.Write(message("stream " + marker))
	line := strings.Repeat("0123456789", 7) + "\r\n"
	for body.Len() < 3<<20 {
		body.WriteString(line)
	}
	body.WriteString("last line " + marker + "\r\n")
	size := int64(body.Len())
	r := &countingReader{r: &body}
	recipients, err := s.SendmailStream(ctx, "alice@example.test",
		[]string{"bob@example.test", "reject550@example.test"}, r, &smtpclient.SendOptions{SizeEstimate: size})
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 2 || !recipients[0].Accepted() || recipients[1].RCPTCode != 550 {
		t.Fatalf("got %+v", recipients)
	}
	if r.reads < 2 {
		t.Fatalf("the body was read in %d call(s), want chunks", r.reads)
	}
	waitForDelivery(t, filepath.Join(maildir, "bob", "new"), "last line "+marker)
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// A size estimate over the server's limit is refused before anything is sent.
func TestSendmailStreamSizeEstimate(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	_, err := s.SendmailStream(ctx, "alice@example.test", []string{"bob@example.test"},
		strings.NewReader("Subject: x\r\n\r\nx\r\n"), &smtpclient.SendOptions{SizeEstimate: 20 << 20})
	if !errors.Is(err, smtpclient.ErrMessageTooLarge) {
		t.Fatalf("got %v, want ErrMessageTooLarge", err)
	}
	if !s.IsConnected() {
		t.Fatal("the session was closed by a refusal before the transaction")
	}
}

// A Read error in the middle of the body (after 2 MB, past the first chunk the library reads
// before it starts the transaction) aborts the send: the error wraps it and matches
// ErrCallbackAborted, and the session is closed so that no partial message is delivered.
func TestSendmailStreamReadError(t *testing.T) {
	ctx := testContext(t)
	s := loggedIn(t, ctx)
	broken := errors.New("disk on fire")
	first := "Subject: partial\r\n\r\n" + strings.Repeat(strings.Repeat("y", 98)+"\r\n", 20000)
	body := io.MultiReader(strings.NewReader(first), &failingReader{broken})
	_, err := s.SendmailStream(ctx, "alice@example.test", []string{"bob@example.test"}, body, nil)
	if !errors.Is(err, smtpclient.ErrCallbackAborted) || !errors.Is(err, broken) {
		t.Fatalf("got %v, want ErrCallbackAborted wrapping the Read error", err)
	}
	if s.IsConnected() {
		t.Fatal("still connected after an abort in the middle of the data")
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// A context cancelled while the body is being read stops the send at the next chunk.
func TestSendmailStreamContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	s := loggedIn(t, ctx)
	body := &cancellingReader{cancel: cancel, after: 2, line: []byte(strings.Repeat("x", 70) + "\r\n")}
	_, err := s.SendmailStream(ctx, "alice@example.test", []string{"bob@example.test"}, body, nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, smtpclient.ErrCallbackAborted) {
		t.Fatalf("got %v, want context.Canceled and ErrCallbackAborted", err)
	}
}

type cancellingReader struct {
	cancel func()
	after  int
	line   []byte
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.after--
	if c.after == 0 {
		c.cancel()
	}
	return copy(p, c.line), nil
}
