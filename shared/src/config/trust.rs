//! Which certificate authorities the AWS SDK clients trust.
//!
//! The functions speak TLS to AWS endpoints only (DynamoDB, Secrets Manager), and AWS serves
//! every endpoint under Amazon Trust Services' roots. Trusting those five instead of the
//! system store narrows who could impersonate DynamoDB, and skips loading the system store at
//! init (2.7 ms on Debian, 0.7 ms with one bundle file as on Amazon Linux; building the client
//! with these roots takes ~0.2 ms). `AWS_CA_BUNDLE`, the variable the other AWS SDKs and the
//! CLI read, replaces them for a TLS-inspecting proxy or an emulator served over HTTPS.

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::ConfigError;

/// Amazon Root CA 1-4 and Starfield Services Root CA G2, with their provenance in the file.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

const VAR: &str = "AWS_CA_BUNDLE";

/// The TLS settings for the SDK's HTTP client: the bundle named by `AWS_CA_BUNDLE`, or the
/// Amazon roots.
pub(super) fn tls_context(var: impl Fn(&str) -> Option<String>) -> Result<TlsContext, ConfigError> {
    let pem = match var(VAR).filter(|path| !path.is_empty()) {
        Some(path) => {
            let pem = std::fs::read(&path).map_err(|err| invalid(format!("({path}): {err}")))?;
            check(&pem).map_err(|reason| invalid(format!("({path}): {reason}")))?;
            pem
        }
        None => AMAZON_TRUST_SERVICES.to_vec(),
    };
    TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
        .build()
        .map_err(|err| invalid(err.to_string()))
}

/// The HTTP client parses the bundle when it builds a connection pool and panics on a
/// certificate it cannot use, so a bundle from the environment is parsed here the same way
/// first, and refused at init with a reason instead. Returns how many roots it holds.
fn check(pem: &[u8]) -> Result<usize, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("is not PEM: {err}"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate".to_owned());
    }
    let mut roots = rustls::RootCertStore::empty();
    for (index, certificate) in certificates.into_iter().enumerate() {
        roots
            .add(certificate)
            .map_err(|err| format!("certificate {} is not usable: {err}", index + 1))?;
    }
    Ok(roots.len())
}

fn invalid(reason: String) -> ConfigError {
    ConfigError::Invalid { name: VAR, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_amazon_roots_are_five_usable_certificates() {
        assert_eq!(check(AMAZON_TRUST_SERVICES), Ok(5));
    }

    #[test]
    fn a_bad_bundle_is_refused_with_a_reason_not_a_panic() {
        assert!(check(b"").unwrap_err().contains("no PEM certificate"));
        assert!(check(b"not a certificate at all")
            .unwrap_err()
            .contains("no PEM certificate"));
        let truncated = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(check(truncated).unwrap_err().contains("is not PEM"));
        // Well-formed PEM around bytes that are no certificate: the case the client panics on.
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
        assert!(check(garbage)
            .unwrap_err()
            .contains("certificate 1 is not usable"));
    }

    #[test]
    fn aws_ca_bundle_names_the_file_to_trust() {
        let dir = std::env::temp_dir().join(format!("trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.pem");
        std::fs::write(&good, AMAZON_TRUST_SERVICES).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "nothing here").unwrap();
        let with = |path: &std::path::Path| {
            let path = path.to_string_lossy().into_owned();
            move |name: &str| (name == VAR).then(|| path.clone())
        };

        assert!(tls_context(with(&good)).is_ok());
        let refused = |path: &std::path::Path| match tls_context(with(path)) {
            Err(ConfigError::Invalid { name: VAR, reason }) => reason,
            other => panic!(
                "expected AWS_CA_BUNDLE to be refused, got {:?}",
                other.is_ok()
            ),
        };
        assert!(refused(&bad).contains("no PEM certificate"));
        assert!(refused(&dir.join("missing.pem")).contains("missing.pem"));
        assert!(tls_context(|_| None).is_ok());
        assert!(tls_context(|_| Some(String::new())).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
