//! The only signature algorithm we use, HS256, as jsonwebtoken's crypto provider. The crate's
//! bundled providers carry RSA, ECDSA and EdDSA as well; none of them can ever verify one of
//! our tokens, and leaving them out keeps about a megabyte out of every function binary.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the HS256-only provider for the process (idempotent).
pub fn install() {
    // Err means a provider is already installed: ours, by an earlier call.
    let _ = PROVIDER.install_default();
}

fn key(algorithm: &Algorithm, family: AlgorithmFamily, bytes: &[u8]) -> Result<HmacSha256> {
    if *algorithm != Algorithm::HS256 || family != AlgorithmFamily::Hmac {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    HmacSha256::new_from_slice(bytes).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

fn signer_factory(algorithm: &Algorithm, key_: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Hs256(key(
        algorithm,
        key_.family(),
        key_.as_bytes(),
    )?)))
}

fn verifier_factory(algorithm: &Algorithm, key_: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let DecodingKeyKind::SecretOrDer(bytes) = key_.kind() else {
        return Err(ErrorKind::InvalidKeyFormat.into());
    };
    Ok(Box::new(Hs256(key(algorithm, key_.family(), bytes)?)))
}

struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    /// Constant-time comparison (`verify_slice`), so a forger learns nothing from timing.
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(signature).map_err(|_| Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}
