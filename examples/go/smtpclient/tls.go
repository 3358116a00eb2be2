package smtpclient

/*
#include <stdlib.h>
#include <smtpclient.h>
*/
import "C"

import "unsafe"

// TLSPolicy says when a plain SMTP or LMTP session uses STARTTLS (smtp_tls_policy).
type TLSPolicy int32

const (
	// TLSPolicyNone: TLS only when StartTLS is called (the default).
	TLSPolicyNone TLSPolicy = C.SMTP_TLS_POLICY_NONE
	// TLSPolicyOpportunistic: STARTTLS before mail or credentials when offered. Strippable by
	// an attacker on the path.
	TLSPolicyOpportunistic TLSPolicy = C.SMTP_TLS_POLICY_OPPORTUNISTIC
	// TLSPolicyRequired: STARTTLS before mail or credentials, or fail with ErrTLSRequired.
	TLSPolicyRequired TLSPolicy = C.SMTP_TLS_POLICY_REQUIRED
)

// TLSVersion is the lowest TLS version accepted (smtp_tls_version).
type TLSVersion int32

const (
	TLS12 TLSVersion = C.SMTP_TLS_VERSION_TLS12 // the default
	TLS13 TLSVersion = C.SMTP_TLS_VERSION_TLS13
)

// withOptionalPath calls set with a C copy of path, or NULL when path is "" (the setters'
// "back to the default").
func (s *Session) withOptionalPath(op, argument, path string, set func(*C.char) C.smtp_result) error {
	var c *C.char
	if path != "" {
		var err error
		if c, err = cString(argument, path); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(c))
	}
	return s.setting(op, func() C.smtp_result { return set(c) })
}

// SetTLSCAFile trusts the CA certificates of a PEM file instead of the system store ("":
// back to the system store). The file is read now.
func (s *Session) SetTLSCAFile(path string) error {
	return s.withOptionalPath("set_tls_ca_file", "path", path, func(c *C.char) C.smtp_result {
		return C.smtp_client_set_tls_ca_file(s.p, c)
	})
}

// SetTLSCADir trusts the CA certificates of a hashed directory (c_rehash layout; "": unset).
func (s *Session) SetTLSCADir(path string) error {
	return s.withOptionalPath("set_tls_ca_dir", "path", path, func(c *C.char) C.smtp_result {
		return C.smtp_client_set_tls_ca_dir(s.p, c)
	})
}

// SetTLSClientCert presents a client certificate: the PEM chain (leaf first) and its key. Both
// "" removes it.
func (s *Session) SetTLSClientCert(chainFile, keyFile string) error {
	if chainFile == "" && keyFile == "" {
		return s.setting("set_tls_client_cert", func() C.smtp_result {
			return C.smtp_client_set_tls_client_cert(s.p, nil, nil)
		})
	}
	cc, err := cString("chainFile", chainFile)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cc))
	ck, err := cString("keyFile", keyFile)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(ck))
	return s.setting("set_tls_client_cert", func() C.smtp_result {
		return C.smtp_client_set_tls_client_cert(s.p, cc, ck)
	})
}

// SetTLSMinVersion sets the lowest TLS version accepted.
func (s *Session) SetTLSMinVersion(v TLSVersion) error {
	return s.setting("set_tls_min_version", func() C.smtp_result {
		return C.smtp_client_set_tls_min_version(s.p, C.int32_t(v))
	})
}

// SetTLSServerName sets the name sent as SNI and verified in the certificate ("": the host
// given to Connect). Needed for Unix sockets.
func (s *Session) SetTLSServerName(name string) error {
	return s.withOptionalPath("set_tls_server_name", "name", name, func(c *C.char) C.smtp_result {
		return C.smtp_client_set_tls_server_name(s.p, c)
	})
}

// SetTLSInsecureSkipVerify turns certificate and host-name verification off (true) or on.
// INSECURE: anyone on the path can read and change the session. For testing only.
func (s *Session) SetTLSInsecureSkipVerify(skip bool) error {
	verify := C.int32_t(C.SMTP_TLS_VERIFY_PEER)
	if skip {
		verify = C.SMTP_TLS_VERIFY_NONE_INSECURE
	}
	return s.setting("set_tls_verify", func() C.smtp_result { return C.smtp_client_set_tls_verify(s.p, verify) })
}

// SetTLSPolicy sets when STARTTLS is done without calling StartTLS.
func (s *Session) SetTLSPolicy(p TLSPolicy) error {
	return s.setting("set_tls_policy", func() C.smtp_result { return C.smtp_client_set_tls_policy(s.p, C.int32_t(p)) })
}

// TLSState describes the connection's TLS (copied from the session).
type TLSState struct {
	Active       bool
	PeerVerified bool   // chain and host name verified
	Version      string // e.g. "TLSv1.3"; "" without TLS
	Cipher       string // e.g. "TLS_AES_256_GCM_SHA384"; "" without TLS
}

// TLS returns the state of the current connection's TLS.
func (s *Session) TLS() TLSState {
	return TLSState{
		Active:       bool(C.smtp_client_tls_active(s.p)),
		PeerVerified: bool(C.smtp_client_tls_peer_verified(s.p)),
		Version:      C.GoString(C.smtp_client_tls_version(s.p)),
		Cipher:       C.GoString(C.smtp_client_tls_cipher(s.p)),
	}
}
