//! jsonwebtoken's crypto provider: RS256 verification on ring ([`super::rs256`]) and nothing
//! else. Tokens are signed by a key parsed once ([`super::rs256::compact`]), not through the
//! crate, so it signs nothing. No HMAC at all: an HS256 token whose "secret" is our RSA public
//! key (the algorithm-confusion attack) has no verifier to reach. The crate's bundled providers
//! carry ECDSA, EdDSA and HMAC as well; leaving them out keeps about a megabyte out of every
//! function binary.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the RS256-only provider for the process (idempotent).
pub fn install() {
    // Err means a provider is already installed: ours, by an earlier call.
    let _ = PROVIDER.install_default();
}

fn signer_factory(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

fn verifier_factory(algorithm: &Algorithm, key_: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key_.family(), key_.kind()) {
        (Algorithm::RS256, AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(Rs256 {
                n: n.clone(),
                e: e.clone(),
            }))
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
