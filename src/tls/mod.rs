//! TLS through the system's OpenSSL: settings, the client handshake, and what the session
//! reports about the result. Verification of the chain and of the host name is on unless the
//! caller turns it off with the one explicitly insecure setting.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, HandshakeError, MidHandshakeSslStream, Ssl, SslConnector, SslFiletype, SslMethod, SslRef, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::{X509Ref, X509VerifyResult, X509};
use zeroize::Zeroizing;

use crate::engine::{ChannelBindingData, TLS_EXPORTER, TLS_SERVER_END_POINT};

use crate::error::{Error, ErrorKind, Result};

/// The TLS policy is a protocol decision, made by the engine; its settings live here too.
pub use crate::engine::{TlsInfo, TlsPolicy};

/// Lowest TLS protocol version accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2 (the default minimum).
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// TLS settings of a session.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// PEM file of trusted CA certificates (default: the system trust store).
    pub ca_file: Option<PathBuf>,
    /// Directory of hashed CA certificates (`c_rehash` layout).
    pub ca_dir: Option<PathBuf>,
    /// PEM client certificate chain, and its private key, for client authentication.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Minimum protocol version (default TLS 1.2).
    pub min_version: TlsVersion,
    /// Name to send as SNI and to verify the certificate against (default: the host the
    /// session connected to; never a name the server sent).
    pub server_name: Option<String>,
    /// Skip certificate and host-name verification. Insecure: anyone on the path can read
    /// and change the session.
    pub insecure_skip_verify: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_file: None,
            ca_dir: None,
            client_cert: None,
            min_version: TlsVersion::Tls12,
            server_name: None,
            insecure_skip_verify: false,
        }
    }
}

/// The certificates of a PEM CA file: at least one, or an invalid-argument error naming the file.
fn load_ca_file(path: &Path) -> Result<Vec<X509>> {
    let pem = std::fs::read(path).map_err(|e| Error::invalid_file("CA file", path, &e))?;
    let certs = X509::stack_from_pem(&pem)
        .map_err(|e| Error::invalid(format!("CA file {}: not PEM certificates: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("CA file {} holds no certificate", path.display())));
    }
    Ok(certs)
}

impl TlsConfig {
    /// Trust the CA certificates of the PEM file at `path` (`None`: the system store again,
    /// unless a CA directory is set). The file is read now, so a missing, unreadable or empty
    /// file is an [`ErrorKind::InvalidArgument`] here, naming the file and the OS reason, not a
    /// TLS failure later; it is read again at each handshake.
    pub fn set_ca_file(&mut self, path: Option<&Path>) -> Result<()> {
        if let Some(p) = path {
            load_ca_file(p)?;
        }
        self.ca_file = path.map(Path::to_path_buf);
        Ok(())
    }

    /// Trust the hashed CA directory at `path` (`c_rehash` layout; `None`: unset). It must be
    /// a readable directory now.
    pub fn set_ca_dir(&mut self, path: Option<&Path>) -> Result<()> {
        if let Some(p) = path {
            let listing = std::fs::read_dir(p).map_err(|e| Error::invalid_file("CA directory", p, &e))?;
            drop(listing);
            if p.to_str().is_none() {
                return Err(Error::invalid(format!("CA directory {}: the path is not UTF-8", p.display())));
            }
        }
        self.ca_dir = path.map(Path::to_path_buf);
        Ok(())
    }

    /// Present a client certificate (`chain`: PEM, leaf first) with its private key (`key`:
    /// PEM); `None` removes it. Both are read now and the key must match the leaf certificate.
    pub fn set_client_cert(&mut self, files: Option<(&Path, &Path)>) -> Result<()> {
        if let Some((chain, key)) = files {
            let chain_pem = std::fs::read(chain).map_err(|e| Error::invalid_file("client certificate", chain, &e))?;
            let certs = X509::stack_from_pem(&chain_pem)
                .map_err(|e| Error::invalid(format!("client certificate {}: not PEM: {e}", chain.display())))?;
            let leaf = certs.first().ok_or_else(|| {
                Error::invalid(format!("client certificate {} holds no certificate", chain.display()))
            })?;
            let key_pem = std::fs::read(key).map_err(|e| Error::invalid_file("client key", key, &e))?;
            let private = PKey::private_key_from_pem(&key_pem)
                .map_err(|e| Error::invalid(format!("client key {}: not a PEM private key: {e}", key.display())))?;
            let matches = leaf.public_key().map(|public| public.public_eq(&private)).unwrap_or(false);
            if !matches {
                return Err(Error::invalid(format!(
                    "client key {} does not match the certificate {}",
                    key.display(),
                    chain.display()
                )));
            }
        }
        self.client_cert = files.map(|(c, k)| (c.to_path_buf(), k.to_path_buf()));
        Ok(())
    }

    fn connector(&self) -> Result<SslConnector> {
        let err = |what: &str, e: openssl::error::ErrorStack| Error::new(ErrorKind::Tls, format!("{what}: {e}"));
        let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| err("TLS setup", e))?;
        let min = match self.min_version {
            TlsVersion::Tls12 => SslVersion::TLS1_2,
            TlsVersion::Tls13 => SslVersion::TLS1_3,
        };
        b.set_min_proto_version(Some(min)).map_err(|e| err("TLS minimum version", e))?;
        if self.ca_file.is_some() || self.ca_dir.is_some() {
            // an explicit trust anchor replaces the system store: the caller named whom to trust
            let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(|e| err("TLS trust store", e))?;
            if let Some(f) = &self.ca_file {
                // read again: the file may have changed since it was set
                for c in load_ca_file(f)? {
                    store.add_cert(c).map_err(|e| err("adding a CA certificate", e))?;
                }
            }
            if let Some(d) = &self.ca_dir {
                let d = d.to_str().ok_or_else(|| Error::invalid("CA directory path is not UTF-8"))?;
                let lookup = store
                    .add_lookup(openssl::x509::store::X509Lookup::hash_dir())
                    .map_err(|e| err("CA directory", e))?;
                lookup.add_dir(d, SslFiletype::PEM).map_err(|e| Error::invalid(format!("CA directory {d}: {e}")))?;
            }
            b.set_verify_cert_store(store.build()).map_err(|e| err("TLS trust store", e))?;
        }
        if let Some((chain, key)) = &self.client_cert {
            b.set_certificate_chain_file(chain)
                .map_err(|e| Error::invalid(format!("client certificate {}: {e}", chain.display())))?;
            b.set_private_key_file(key, SslFiletype::PEM)
                .map_err(|e| Error::invalid(format!("client key {}: {e}", key.display())))?;
            b.check_private_key()
                .map_err(|e| Error::invalid(format!("client key does not match the certificate: {e}")))?;
        }
        if self.insecure_skip_verify {
            b.set_verify(SslVerifyMode::NONE);
        } else {
            b.set_verify(SslVerifyMode::PEER);
        }
        Ok(b.build())
    }

    /// Run the client handshake on `stream` for `host` (the host the session connected to),
    /// blocking: a stream that would block ends it as a timeout (the socket's deadline passed).
    pub(crate) fn handshake<S: std::io::Read + std::io::Write + std::fmt::Debug>(
        &self,
        stream: S,
        host: &str,
    ) -> Result<(SslStream<S>, TlsInfo)> {
        match self.begin_handshake(stream, host)? {
            Handshake::Done(s, info) => Ok((s, info)),
            Handshake::WouldBlock(mid) => Err(mid.timed_out()),
        }
    }

    /// Start the client handshake on `stream` for `host` as [`TlsConfig::handshake`] does
    /// (same checks, verification, SNI and errors), returning when the stream would block:
    /// then [`MidHandshake::resume`] continues it once the stream is ready.
    pub(crate) fn begin_handshake<S: std::io::Read + std::io::Write + std::fmt::Debug>(
        &self,
        stream: S,
        host: &str,
    ) -> Result<Handshake<S>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let ssl = self.client_ssl(name)?;
        handshake_step(ssl.connect(stream), name.to_owned(), self.insecure_skip_verify)
    }

    /// The client `Ssl` for server name `name`: the connector's settings, SNI (never for an IP
    /// literal) and the name the certificate must carry.
    fn client_ssl(&self, name: &str) -> Result<Ssl> {
        if name.is_empty() && !self.insecure_skip_verify {
            return Err(Error::invalid("no TLS server name to verify: set one for a Unix-socket connection"));
        }
        let connector = self.connector()?;
        let mut config = connector.configure().map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?;
        // we set SNI and the expected name ourselves, to control the CN fallback and IP literals
        config.set_use_server_name_indication(false);
        config.set_verify_hostname(false);
        let is_ip = name.parse::<IpAddr>().is_ok();
        if !is_ip && !name.is_empty() {
            config.set_hostname(name).map_err(|e| Error::new(ErrorKind::Tls, format!("TLS server name: {e}")))?;
        }
        if !self.insecure_skip_verify {
            let param = config.param_mut();
            // RFC 9525: subjectAltName only, never the subject's CN
            param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS | X509CheckFlags::NEVER_CHECK_SUBJECT);
            match name.parse::<IpAddr>() {
                Ok(ip) => param.set_ip(ip),
                Err(_) => param.set_host(name),
            }
            .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS server name: {e}")))?;
        }
        config
            .into_ssl(if is_ip { "" } else { name })
            .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))
    }
}

/// Where a client handshake stands after a step.
#[derive(Debug)]
pub(crate) enum Handshake<S> {
    /// Finished: the TLS stream and what was negotiated.
    Done(SslStream<S>, TlsInfo),
    /// The stream would block: continue when it is ready.
    WouldBlock(MidHandshake<S>),
}

/// A client handshake that stopped because its stream would block.
#[derive(Debug)]
pub(crate) struct MidHandshake<S> {
    mid: MidHandshakeSslStream<S>,
    /// The server name verified, for messages.
    name: String,
    insecure: bool,
}

impl<S: std::io::Read + std::io::Write + std::fmt::Debug> MidHandshake<S> {
    /// Take the next step of the handshake.
    pub(crate) fn resume(self) -> Result<Handshake<S>> {
        let MidHandshake { mid, name, insecure } = self;
        handshake_step(mid.handshake(), name, insecure)
    }
}

impl<S> MidHandshake<S> {
    /// Whether the handshake waits to write (`WANT_WRITE`) rather than to read.
    pub(crate) fn wants_write(&self) -> bool {
        self.mid.error().code() == ErrorCode::WANT_WRITE
    }

    /// The stream under the handshake.
    pub(crate) fn get_ref(&self) -> &S {
        self.mid.get_ref()
    }

    /// The stream under the handshake, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        self.mid.get_mut()
    }

    /// The error of a handshake that could not finish in time.
    fn timed_out(&self) -> Error {
        Error::new(ErrorKind::Timeout, format!("TLS handshake with {} timed out", self.name))
    }
}

/// What one step of a client handshake came to: done (with what was negotiated), blocked, or
/// the failure classified: [`ErrorKind::TlsCertificate`] when verification failed,
/// [`ErrorKind::Timeout`] when the socket's deadline passed, [`ErrorKind::Tls`] otherwise.
fn handshake_step<S>(
    step: std::result::Result<SslStream<S>, HandshakeError<S>>,
    name: String,
    insecure: bool,
) -> Result<Handshake<S>> {
    match step {
        Ok(s) => {
            let info = TlsInfo {
                version: s.ssl().version_str().to_owned(),
                cipher: s.ssl().current_cipher().map(|c| c.name().to_owned()).unwrap_or_default(),
                verified: !insecure && s.ssl().verify_result() == X509VerifyResult::OK,
                channel_binding: channel_binding(s.ssl()),
            };
            Ok(Handshake::Done(s, info))
        }
        Err(HandshakeError::Failure(mid)) => {
            let verify = mid.ssl().verify_result();
            let timed_out = mid
                .error()
                .io_error()
                .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock));
            if timed_out {
                Err(Error::new(ErrorKind::Timeout, format!("TLS handshake with {name} timed out")))
            } else if verify != X509VerifyResult::OK {
                Err(Error::new(
                    ErrorKind::TlsCertificate,
                    format!("certificate verification failed for {name}: {}", verify.error_string()),
                ))
            } else {
                Err(Error::new(ErrorKind::Tls, format!("TLS handshake with {name} failed: {}", mid.error())))
            }
        }
        Err(HandshakeError::SetupFailure(e)) => Err(Error::new(ErrorKind::Tls, format!("TLS setup: {e}"))),
        Err(HandshakeError::WouldBlock(mid)) => Ok(Handshake::WouldBlock(MidHandshake { mid, name, insecure })),
    }
}

/// The channel-binding data of an established connection: `tls-exporter` (RFC 9266) on TLS
/// 1.3, `tls-server-end-point` (RFC 5929) on earlier versions; `None` when the exporter fails
/// or the server certificate's signature names no usable hash.
fn channel_binding(ssl: &SslRef) -> Option<ChannelBindingData> {
    if ssl.version2() == Some(SslVersion::TLS1_3) {
        let mut data = Zeroizing::new(vec![0u8; 32]);
        ssl.export_keying_material(data.as_mut_slice(), "EXPORTER-Channel-Binding", Some(b"")).ok()?;
        return Some(ChannelBindingData { kind: TLS_EXPORTER, data });
    }
    let cert = ssl.peer_certificate()?;
    Some(ChannelBindingData { kind: TLS_SERVER_END_POINT, data: server_end_point(&cert)? })
}

/// RFC 5929 §4.1: the hash of the DER certificate, with the hash of its signature algorithm,
/// SHA-256 instead of MD5 or SHA-1; `None` for a signature without a single hash (Ed25519,
/// Ed448, RSA-PSS, whose hash is in its parameters).
pub(crate) fn server_end_point(cert: &X509Ref) -> Option<Zeroizing<Vec<u8>>> {
    let algorithms = cert.signature_algorithm().object().nid().signature_algorithms()?;
    let md = match algorithms.digest {
        Nid::MD5 | Nid::SHA1 => MessageDigest::sha256(),
        Nid::UNDEF => return None,
        other => MessageDigest::from_nid(other)?,
    };
    cert.digest(md).ok().map(|d| Zeroizing::new(d.to_vec()))
}

/// OpenSSL's library code for SSL errors (`ERR_LIB_SSL`).
const ERR_LIB_SSL: std::ffi::c_int = 20;
/// OpenSSL 3's reason for a peer that closed the connection without a TLS close_notify
/// (`SSL_R_UNEXPECTED_EOF_WHILE_READING`).
const SSL_R_UNEXPECTED_EOF_WHILE_READING: std::ffi::c_int = 294;

/// What a failed `SSL_read` or `SSL_write` on an established TLS connection means, `doing`
/// naming the operation: `Ok(None)` to try again (OpenSSL handled a non-application record),
/// `Ok(Some(0))` for the end of the stream, or the error: the socket's own (timeout, reset)
/// as [`Error::from_io`] classifies it, a close without close_notify as
/// [`ErrorKind::ServerDisconnected`] (SMTP frames its own data, so nothing is lost unseen),
/// and anything else TLS rejected (a record that fails authentication, plain text injected
/// into the stream, a fatal alert) as [`ErrorKind::TlsRecord`].
pub(crate) fn after_handshake(e: openssl::ssl::Error, doing: &str) -> Result<Option<usize>> {
    if let Some(io) = e.io_error() {
        return Err(Error::from_io(io, doing));
    }
    match e.code() {
        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => Ok(None),
        ErrorCode::ZERO_RETURN | ErrorCode::SYSCALL => Ok(Some(0)),
        _ => {
            let unexpected_eof = e.ssl_error().is_some_and(|stack| {
                stack
                    .errors()
                    .iter()
                    .any(|x| x.library_code() == ERR_LIB_SSL && x.reason_code() == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            });
            if unexpected_eof {
                Ok(Some(0))
            } else {
                Err(Error::new(ErrorKind::TlsRecord, format!("{doing}: TLS failed after the handshake: {e}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::pkey::Private;
    use openssl::x509::X509Name;

    use super::*;

    fn self_signed(key: &PKey<Private>, md: Option<MessageDigest>) -> X509 {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_text("CN", "cb.test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        // Ed25519 signs without a separate digest
        b.sign(key, md.unwrap_or_else(MessageDigest::null)).unwrap();
        b.build()
    }

    #[test]
    fn server_end_point_uses_the_signature_hash_or_sha256() {
        // RFC 5929 §4.1: the certificate's own signature hash; SHA-256 for MD5 and SHA-1
        let ec = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap())
            .unwrap();
        for (signed, expected) in [
            (MessageDigest::sha384(), MessageDigest::sha384()),
            (MessageDigest::sha512(), MessageDigest::sha512()),
            (MessageDigest::sha256(), MessageDigest::sha256()),
            (MessageDigest::sha1(), MessageDigest::sha256()),
        ] {
            let cert = self_signed(&ec, Some(signed));
            let got = server_end_point(&cert).expect("a hash for an ECDSA certificate");
            assert_eq!(got.as_slice(), &*cert.digest(expected).unwrap(), "{:?}", cert.signature_algorithm().object());
            // and it is the hash of the DER encoding
            assert_eq!(got.as_slice(), openssl::hash::hash(expected, &cert.to_der().unwrap()).unwrap().as_ref());
        }
        // no single hash in an Ed25519 signature: no binding data
        let ed = PKey::generate_ed25519().unwrap();
        assert!(server_end_point(&self_signed(&ed, None)).is_none());
    }
}
