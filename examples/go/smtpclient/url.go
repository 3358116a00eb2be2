package smtpclient

/*
#include <stdlib.h>
#include <smtpclient.h>
*/
import "C"

import (
	"context"
	"strings"
	"unsafe"
)

// SetURL configures the session from a connection string:
//
//	smtp://[user:password@]host[:port][/][?tls=none|opportunistic|required]   port 25
//	smtp+starttls://[user:password@]host[:port]                                STARTTLS required, port 587
//	smtps://[user:password@]host[:port]                                        implicit TLS, port 465
//	lmtp://host[:port][?tls=...]                                               port 2003
//	lmtp+unix:///absolute/path
//
// The user and password are percent-encoded (%40 for @, %3A for :, %2F for /). It sets the TLS
// policy at once, the endpoint ConnectURL connects to and the credentials LoginURL sends; a
// later URL replaces all three. Nothing connects by itself. The scheme must match the
// session's Kind. Errors: ErrInvalidArgument (a malformed URL: the message names the part,
// never the password; or a scheme of another kind), ErrBadState (already connected).
func (s *Session) SetURL(url string) error {
	c, err := cString("url", url)
	if err != nil {
		return err
	}
	defer func() {
		// The URL may hold a password: wipe the C copy before freeing it.
		b := unsafe.Slice((*byte)(unsafe.Pointer(c)), len(url))
		for i := range b {
			b[i] = 0
		}
		C.free(unsafe.Pointer(c))
	}()
	return s.setting("set_url", func() C.smtp_result { return C.smtp_client_set_url(s.p, c) })
}

// ConnectURL connects to the endpoint of the URL given to SetURL and reads the greeting
// (ErrNullArgument, a kind of ErrInvalidArgument, without one).
func (s *Session) ConnectURL(ctx context.Context) error {
	return s.network(ctx, "connect", func() C.smtp_result { return C.smtp_client_connect(s.p, nil, 0) })
}

// LoginURL logs in with the user and password of the URL given to SetURL (ErrNullArgument
// when it carried none). With the TLS policy the URL set (smtp+starttls://, ?tls=required),
// STARTTLS comes first.
func (s *Session) LoginURL(ctx context.Context) error {
	return s.network(ctx, "login", func() C.smtp_result {
		return C.smtp_client_login(s.p, nil, nil, C.SMTP_INITIAL_RESPONSE_SEND)
	})
}

// Option configures a session Dial creates, after the URL and before connecting; any
// Session setter fits: func(s *Session) error { return s.SetTLSCAFile("ca.pem") }.
type Option func(*Session) error

// Dial opens a session from a connection string (see SetURL): a Session of the Kind the
// scheme names, the options applied, connected, and logged in when the URL carries a user and
// password (STARTTLS first for smtp+starttls:// and ?tls=required).
//
//	s, err := smtpclient.Dial(ctx, "smtp+starttls://alice:secret@mail.example.org")
//	if err != nil { ... }
//	defer s.Close()
//
// On failure nothing is left open.
func Dial(ctx context.Context, url string, options ...Option) (*Session, error) {
	s, err := New(urlKind(url))
	if err != nil {
		return nil, err
	}
	err = s.SetURL(url)
	for _, option := range options {
		if err != nil {
			break
		}
		err = option(s)
	}
	if err == nil {
		err = s.ConnectURL(ctx)
	}
	if err == nil && urlHasCredentials(url) {
		err = s.LoginURL(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// urlKind is the Kind a URL's scheme needs (case-insensitive, as the library reads it); an
// unknown scheme gives KindSMTP, whose SetURL then refuses it with the library's message.
func urlKind(url string) Kind {
	scheme, _, _ := strings.Cut(url, "://")
	switch strings.ToLower(scheme) {
	case "smtps":
		return KindSMTPS
	case "lmtp", "lmtp+unix":
		return KindLMTP
	}
	return KindSMTP
}

// urlHasCredentials reports whether the URL's authority holds user:password@ (an @ in them
// must be percent-encoded, so the first @ before any /, ? or # is the separator).
func urlHasCredentials(url string) bool {
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		return false
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Contains(rest, "@")
}
