use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// A plaintext password on its way to argon2. It cannot be printed: `Debug` is redacted and
/// there is no `Display`, so a stray `?password` in a log line leaks nothing.
pub struct Password(String);

static STRENGTH_CHECK_PREPARED: AtomicBool = AtomicBool::new(false);

const MIN_CHARS: usize = 8;
/// Bounds the work argon2 and the strength estimator do for a single request.
const MAX_CHARS: usize = 256;

impl Password {
    /// Rules for a new password: length bounds and zxcvbn's estimate of at least 3 ("safely
    /// unguessable"), with the user's own e-mail and names counted as known words.
    pub fn new_for_signup(raw: &str, known_words: &[&str]) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err("must be at least 8 characters");
        }
        if chars > MAX_CHARS {
            return Err("must be at most 256 characters");
        }
        if zxcvbn::zxcvbn(raw, known_words).score() < zxcvbn::Score::Three {
            return Err("is too weak or too common");
        }
        Ok(Self(raw.to_owned()))
    }

    /// Holds a new password to the rules again with more known words (a reset learns the
    /// user's names only once the account is found).
    pub fn recheck(self, known_words: &[&str]) -> Result<Self, &'static str> {
        Self::new_for_signup(&self.0, known_words)
    }

    /// Loads zxcvbn's dictionaries (inflating and indexing ~94,000 ranked words, 12–17 ms on
    /// the bench machine) on the blocking pool: sign-up as deployed starts it in the background
    /// at init ([`crate::App::from_env_with`]), so its first request does not.
    pub async fn prepare_strength_check() {
        let _ = tokio::task::spawn_blocking(|| {
            let _ = zxcvbn::zxcvbn("init warm-up", &[]);
            STRENGTH_CHECK_PREPARED.store(true, Ordering::Release);
        })
        .await;
    }

    /// Whether [`Self::prepare_strength_check`] has run in this process.
    pub fn is_strength_check_prepared() -> bool {
        STRENGTH_CHECK_PREPARED.load(Ordering::Acquire)
    }

    /// Sign-in only bounds the length: rules may change, existing passwords must still work.
    pub fn for_signin(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() > MAX_CHARS {
            return Err("must be at most 256 characters");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_common_and_weak_passwords() {
        for weak in [
            "123456",
            "password",
            "hunter2",
            "qwerty123",
            "password1",
            "12345678",
            "iloveyou",
            "aaaaaaaaaaaa",
        ] {
            assert!(Password::new_for_signup(weak, &[]).is_err(), "{weak}");
        }
    }

    #[test]
    fn refuses_passwords_built_from_the_users_own_data() {
        let known = ["maria.silva", "Maria", "Silva"];
        assert!(Password::new_for_signup("silvamaria", &known).is_err());
        assert!(Password::new_for_signup("maria.silva", &known).is_err());
        let fine = Password::new_for_signup("quelmindavartabedian", &[]).unwrap();
        assert!(fine.recheck(&["Quelminda", "Vartabedian"]).is_err());
    }

    #[test]
    fn accepts_strong_passwords_and_bounds_length() {
        assert!(Password::new_for_signup("correct horse battery staple", &[]).is_ok());
        assert!(Password::new_for_signup("V9#kq!2Lr@x8", &[]).is_ok());
        let long = "Zq8#".repeat(65);
        assert_eq!(
            Password::new_for_signup(&long, &[]).unwrap_err(),
            "must be at most 256 characters"
        );
        assert!(Password::for_signin(&long).is_err());
        assert!(Password::for_signin("short").is_ok());
    }

    #[test]
    fn never_prints_the_secret() {
        let p = Password::for_signin("s3cr3t-value").unwrap();
        assert!(!format!("{p:?}").contains("s3cr3t"));
    }
}
