//! Certificates for TLS tests: a CA and leaves with chosen names, SANs and validity, made
//! in-process with OpenSSL (EC P-256 keys: fast to generate).

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};

/// A certificate authority: its self-signed certificate and its key.
pub struct Ca {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// A certificate and its private key.
pub type Identity = (X509, PKey<Private>);

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn x509_name(cn: &str) -> openssl::x509::X509Name {
    let mut n = X509NameBuilder::new().unwrap();
    n.append_entry_by_text("CN", cn).unwrap();
    n.build()
}

/// A CA named `cn`, valid for 30 days from now.
pub fn new_ca(cn: &str) -> Ca {
    let key = ec_key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&x509_name(cn)).unwrap();
    b.set_issuer_name(&x509_name(cn)).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    Ca { cert: b.build(), key }
}

/// A leaf for CN `cn` with SANs ("DNS:x" / "IP:x"), signed by `issuer` (None: self-signed),
/// valid from `from_days` to `to_days` relative to now.
pub fn leaf(cn: &str, sans: &[&str], issuer: Option<&Ca>, from_days: i64, to_days: i64) -> Identity {
    let key = ec_key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(2).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&x509_name(cn)).unwrap();
    b.set_issuer_name(issuer.map_or(&x509_name(cn), |ca| ca.cert.subject_name())).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now + from_days * 86_400).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + to_days * 86_400).unwrap()).unwrap();
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            match s.split_once(':').unwrap() {
                ("DNS", v) => san.dns(v),
                ("IP", v) => san.ip(v),
                other => panic!("{other:?}"),
            };
        }
        let ext = san.build(&b.x509v3_context(issuer.map(|c| c.cert.as_ref()), None)).unwrap();
        b.append_extension(ext).unwrap();
    }
    b.sign(issuer.map_or(&key, |ca| &ca.key), MessageDigest::sha256()).unwrap();
    (b.build(), key)
}
