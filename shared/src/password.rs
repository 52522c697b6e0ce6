//! argon2id hashing, run on the blocking pool so the async runtime stays responsive.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};

use crate::domain::Password;
use crate::ApiError;

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// The hash of a random password nobody knows, at the parameters above. Sign-in verifies
/// against it when the e-mail is unknown, so both failures cost one argon2 verify and take the
/// same time. A test keeps its parameters equal to the ones we hash with.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$C4ZfX6KeRlfL2LplKRWBeg$MF08fb3qngfZb90ELOLtpVvPUorVPbfn+d/rgJXyq3U";

/// A PHC string (`$argon2id$v=19$m=…`), the only form a password is ever stored in.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest(String);

impl PasswordDigest {
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDigest(<redacted>)")
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .unwrap_or_else(|_| unreachable!("constant argon2 parameters are valid"));
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    pub async fn hash(&self, password: Password) -> Result<PasswordDigest, ApiError> {
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose(), &salt)
                .map(|hash| PasswordDigest(hash.to_string()))
                .map_err(|err| ApiError::internal(err.to_string()))
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no user,
    /// so that "no such user" and "wrong password" cost the same. Only `Some` with a match is
    /// `true`.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<PasswordDigest>,
    ) -> Result<bool, ApiError> {
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let exists = stored.is_some();
            let phc = stored.map_or_else(|| DUMMY_HASH.to_owned(), |d| d.0);
            let parsed = PasswordHash::new(&phc).map_err(|err| {
                ApiError::internal(format!("stored password hash is not a PHC string: {err}"))
            })?;
            let matches = argon2.verify_password(password.expose(), &parsed).is_ok();
            Ok(exists && matches)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::for_signin(text).unwrap()
    }

    #[tokio::test]
    async fn hashes_as_argon2id_phc_and_verifies() {
        let hasher = PasswordHasher::new();
        let digest = hasher.hash(password("correct horse")).await.unwrap();
        assert!(
            digest
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            digest.as_str()
        );
        assert!(!digest.as_str().contains("correct horse"));
        assert!(hasher
            .verify(password("correct horse"), Some(digest.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(password("correct horsE"), Some(digest))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = PasswordHasher::new();
        let a = hasher.hash(password("same")).await.unwrap();
        let b = hasher.hash(password("same")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify(password("anything"), None).await.unwrap());
    }

    #[test]
    fn dummy_hash_costs_what_a_real_one_costs() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
    }
}
