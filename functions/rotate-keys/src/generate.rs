//! New RSA keys, made here and nowhere else: the rotation function is the only code that
//! creates signing keys, so only it links an RSA key generator.

use rsa::pkcs8::{EncodePrivateKey, LineEnding};

use crate::RotationError;

/// RSA 2048: what API Gateway's JWT authorizer and every JOSE library verify, at a quarter of
/// RSA 4096's signing cost, which each sign-in pays.
pub const KEY_BITS: usize = 2048;

/// A new RSA private key as PKCS#8 PEM, the form the key set stores.
pub fn generate() -> Result<String, RotationError> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
        .map_err(|err| RotationError::Generate(err.to_string()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| RotationError::Generate(err.to_string()))?;
    Ok(pem.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::token::rs256::SigningKey;

    #[test]
    fn makes_distinct_2048_bit_keys_that_ring_signs_with() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert!(a.starts_with("-----BEGIN PRIVATE KEY-----"));
        let (a, b) = (
            SigningKey::from_pkcs8_pem(&a).unwrap(),
            SigningKey::from_pkcs8_pem(&b).unwrap(),
        );
        assert_ne!(a.kid(), b.kid());
        assert_eq!(a.sign(b"probe").unwrap().len(), KEY_BITS / 8);
    }
}
