//! argon2id hashing, run on the blocking pool so the async runtime stays responsive.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::domain::Password;
use crate::ApiError;

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// The PHC default, as stored hashes have it.
const OUTPUT_BYTES: usize = 32;

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

/// Hashes and verifies with one reusable block of argon2 working memory (19 MiB). Allocating
/// it per call let glibc keep a copy per blocking-pool thread: sign-in's peak RSS was 122 MB
/// instead of the ~30 MB it needs, and the allocation itself cost time on every request.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    memory: Arc<Mutex<Vec<Block>>>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_BYTES))
            .unwrap_or_else(|_| unreachable!("constant argon2 parameters are valid"));
        Self {
            params,
            memory: Arc::default(),
        }
    }

    /// Allocates the working memory now, on the blocking pool, so the first hash or verify
    /// does not also pay for faulting in 19 MiB: ~10 ms on the bench machine (a first verify
    /// in a fresh process against the ones after it). Init starts it in the background; the
    /// future owns what it needs, so it can be spawned.
    pub fn prepare(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (memory, blocks) = (self.memory.clone(), self.params.block_count());
        async move {
            let _ = tokio::task::spawn_blocking(move || drop(reserve(&memory, blocks))).await;
        }
    }

    /// [`Self::prepare`] and zxcvbn's dictionaries ([`Password::prepare_strength_check`]):
    /// the warm-up of a function that takes new passwords (sign-up, reset).
    pub fn prepare_for_new_passwords(
        &self,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let memory = self.prepare();
        async move {
            tokio::join!(memory, Password::prepare_strength_check());
        }
    }

    /// Whether the working memory is in place (after [`Self::prepare`] or a first use).
    pub fn is_prepared(&self) -> bool {
        let blocks = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        blocks.len() >= self.params.block_count()
    }

    pub async fn hash(&self, password: Password) -> Result<PasswordDigest, ApiError> {
        let (params, memory) = (self.params.clone(), self.memory.clone());
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            let mut raw_salt = [0u8; Salt::RECOMMENDED_LENGTH];
            let raw_salt = salt.decode_b64(&mut raw_salt).map_err(internal)?;
            let output = compute(&memory, &params, password.expose(), raw_salt)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: (&params).try_into().map_err(internal)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(PasswordDigest(phc.to_string()))
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no user,
    /// so that "no such user" and "wrong password" cost the same. Only `Some` with a match is
    /// `true`. The comparison of outputs is constant-time (`password_hash::Output`).
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<PasswordDigest>,
    ) -> Result<bool, ApiError> {
        let memory = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let exists = stored.is_some();
            let phc = stored.map_or_else(|| DUMMY_HASH.to_owned(), |d| d.0);
            let parsed = PasswordHash::new(&phc).map_err(|err| {
                ApiError::internal(format!("stored password hash is not a PHC string: {err}"))
            })?;
            let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
                return Err(ApiError::internal(
                    "stored password hash has no salt or output",
                ));
            };
            if parsed.algorithm != Algorithm::Argon2id.ident() {
                return Err(ApiError::internal("stored password hash is not argon2id"));
            }
            let params = Params::try_from(&parsed).map_err(internal)?;
            let mut raw_salt = [0u8; Salt::MAX_LENGTH];
            let raw_salt = salt.decode_b64(&mut raw_salt).map_err(internal)?;
            let output = compute(&memory, &params, password.expose(), raw_salt)?;
            Ok(exists && output == expected)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

/// argon2id into the shared working memory (grown if stored parameters ever need more).
fn compute(
    memory: &Mutex<Vec<Block>>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
) -> Result<Output, ApiError> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = vec![0u8; params.output_len().unwrap_or(OUTPUT_BYTES)];
    let mut blocks = reserve(memory, params.block_count());
    argon2
        .hash_password_into_with_memory(
            password,
            salt,
            &mut out,
            &mut blocks[..params.block_count()],
        )
        .map_err(internal)?;
    Output::new(&out).map_err(internal)
}

/// The working memory, locked and grown to at least `count` blocks (every page written).
fn reserve(memory: &Mutex<Vec<Block>>, count: usize) -> MutexGuard<'_, Vec<Block>> {
    let mut blocks = memory.lock().unwrap_or_else(PoisonError::into_inner);
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
    blocks
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::internal(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::for_signin(text).unwrap()
    }

    #[tokio::test]
    async fn prepare_puts_the_working_memory_in_place_and_hashes_stay_the_same() {
        let hasher = PasswordHasher::new();
        let digest = PasswordHasher::new()
            .hash(password("tr0ub4dor"))
            .await
            .unwrap();
        assert!(!hasher.is_prepared());
        hasher.prepare().await;
        assert!(hasher.is_prepared());
        assert!(hasher
            .verify(password("tr0ub4dor"), Some(digest))
            .await
            .unwrap());
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

    /// Hashes stored before the shared-memory path (made by the crate's own API) still verify,
    /// and ours verify under the crate's own verifier: the PHC strings are the same format.
    #[tokio::test]
    async fn agrees_with_the_argon2_crates_own_api() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let hasher = PasswordHasher::new();
        let stored = Some(PasswordDigest::from_stored(theirs));
        assert!(hasher
            .verify(password("correct horse"), stored.clone())
            .await
            .unwrap());
        assert!(!hasher
            .verify(password("correct horsE"), stored)
            .await
            .unwrap());
        let ours = hasher.hash(password("correct horse")).await.unwrap();
        let parsed = PasswordHash::new(ours.as_str()).unwrap();
        assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
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
