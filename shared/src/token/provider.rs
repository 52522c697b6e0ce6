//! jsonwebtoken's crypto provider: the algorithms we use and nothing else. HS256 (today's access
//! tokens) signs and verifies; RS256 (issue 15's, on ring: [`super::rs256`]) only verifies here,
//! since its tokens are signed by a key parsed once rather than per token. The crate's bundled
//! providers carry ECDSA and EdDSA as well; none of them can ever verify one of our tokens, and
//! leaving them out keeps about a megabyte out of every function binary. An HS256 token whose
//! secret is an RSA public key (the algorithm-confusion attack) cannot verify: an RSA key is
//! never an HMAC key here, whatever the token's header says.

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
    match (algorithm, key_.family(), key_.kind()) {
        (Algorithm::RS256, AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(Rs256 {
                n: n.clone(),
                e: e.clone(),
            }))
        }
        (_, _, DecodingKeyKind::SecretOrDer(bytes)) => {
            Ok(Box::new(Hs256(key(algorithm, key_.family(), bytes)?)))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// RS256 verification with an RSA public key of 2048 to 8192 bits.
struct Rs256 {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        if super::rs256::verify(&self.n, &self.e, message, signature) {
            Ok(())
        } else {
            Err(Error::new())
        }
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
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
