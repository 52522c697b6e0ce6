//! One-time codes sent by e-mail: what they prove, how long they are, how they are made and
//! how they are kept. A code is generated only by the mailer, only after the request for it
//! is durable, and stored only as a digest once SES has accepted the message: a code the user
//! never received is never usable.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::domain::UserId;

/// What a code proves, and so where it may be used: a verification code cannot reset a
/// password. The name is part of the stored key and of the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The user reads this mailbox (`POST /email/verify`).
    VerifyEmail,
    /// The mailbox's owner may set a new password (`POST /password/reset`).
    ResetPassword,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::VerifyEmail, Purpose::ResetPassword];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify",
            Purpose::ResetPassword => "reset",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify" => Some(Purpose::VerifyEmail),
            "reset" => Some(Purpose::ResetPassword),
            _ => None,
        }
    }

    /// Digits per code: 6 for a verification (10^6 guesses, 5 allowed); 8 for a reset, which
    /// hands over the account (OWASP's Forgot Password cheat sheet).
    pub fn digits(self) -> usize {
        match self {
            Purpose::VerifyEmail => 6,
            Purpose::ResetPassword => 8,
        }
    }

    /// How long a code stays usable (`CODE_TTL_SECONDS` overrides it for tests).
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::from_secs(600),
            Purpose::ResetPassword => Duration::from_secs(900),
        }
    }
}

/// Wrong tries a code survives; the one after kills it.
pub const MAX_ATTEMPTS: u32 = 5;

/// A code as typed by the user: exactly the purpose's number of ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

/// Never printed: a `Debug` that shows the code would put it in a log line one day.
impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode(..)")
    }
}

impl OneTimeCode {
    pub fn parse(purpose: Purpose, raw: &str) -> Option<Self> {
        (raw.len() == purpose.digits() && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(raw.to_owned()))
    }

    /// A uniformly random code from the operating system's CSPRNG (rejection sampling, so
    /// no digit string is likelier than another).
    pub fn generate(purpose: Purpose) -> Result<Self, ring::error::Unspecified> {
        let digits = u32::try_from(purpose.digits()).unwrap_or(u32::MAX);
        let range = 10u64.pow(digits);
        // The largest multiple of `range` that fits: values at or above it are redrawn.
        let limit = (1u64 << 32) / range * range;
        let random = SystemRandom::new();
        loop {
            let mut bytes = [0u8; 4];
            random.fill(&mut bytes)?;
            let value = u64::from(u32::from_be_bytes(bytes));
            if value < limit {
                return Ok(Self(format!(
                    "{:0width$}",
                    value % range,
                    width = purpose.digits()
                )));
            }
        }
    }

    /// For the message body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: SHA-256 over purpose, user and code, so a digest is good for one
    /// user and one purpose only.
    pub fn digest(&self, purpose: Purpose, user: UserId) -> CodeDigest {
        let mut hash = Sha256::new();
        hash.update(purpose.as_str().as_bytes());
        hash.update([0]);
        hash.update(user.as_bytes());
        hash.update(self.0.as_bytes());
        CodeDigest(hash.finalize().into())
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct CodeDigest([u8; 32]);

impl std::fmt::Debug for CodeDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeDigest(..)")
    }
}

impl CodeDigest {
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant time: how much of a stored digest matched is not something to leak.
    pub fn matches(&self, other: &CodeDigest) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_purpose_s_digits_and_vary() {
        let codes: Vec<OneTimeCode> = (0..50)
            .map(|_| OneTimeCode::generate(Purpose::VerifyEmail).unwrap())
            .collect();
        for code in &codes {
            assert_eq!(
                OneTimeCode::parse(Purpose::VerifyEmail, code.expose()).as_ref(),
                Some(code)
            );
        }
        let distinct: std::collections::BTreeSet<&str> =
            codes.iter().map(OneTimeCode::expose).collect();
        assert!(distinct.len() > 40, "{} distinct of 50", distinct.len());
    }

    #[test]
    fn only_exact_digit_strings_parse() {
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            " 123456",
            "１２３４５６",
            "-12345",
        ] {
            assert_eq!(
                OneTimeCode::parse(Purpose::VerifyEmail, bad),
                None,
                "{bad:?}"
            );
        }
        assert!(OneTimeCode::parse(Purpose::VerifyEmail, "000123").is_some());
    }

    #[test]
    fn reset_codes_are_eight_digits_and_purposes_round_trip() {
        let code = OneTimeCode::generate(Purpose::ResetPassword).unwrap();
        assert_eq!(code.expose().len(), 8);
        assert!(OneTimeCode::parse(Purpose::ResetPassword, "123456").is_none());
        assert!(OneTimeCode::parse(Purpose::ResetPassword, "01234567").is_some());
        for purpose in [Purpose::VerifyEmail, Purpose::ResetPassword] {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
        }
        // The same digits for another purpose are another digest.
        let user = UserId::random();
        let digits = OneTimeCode::parse(Purpose::ResetPassword, "12345678").unwrap();
        assert!(!digits
            .digest(Purpose::ResetPassword, user)
            .matches(&digits.digest(Purpose::VerifyEmail, user)));
    }

    #[test]
    fn digests_bind_user_and_purpose_and_never_print_the_code() {
        let code = OneTimeCode::parse(Purpose::VerifyEmail, "123456").unwrap();
        let (alice, bob) = (UserId::random(), UserId::random());
        let digest = code.digest(Purpose::VerifyEmail, alice);
        assert!(digest.matches(&code.digest(Purpose::VerifyEmail, alice)));
        assert!(!digest.matches(&code.digest(Purpose::VerifyEmail, bob)));
        let other = OneTimeCode::parse(Purpose::VerifyEmail, "123457").unwrap();
        assert!(!digest.matches(&other.digest(Purpose::VerifyEmail, alice)));
        assert!(!format!("{code:?}{digest:?}").contains("123456"));
        assert_eq!(
            CodeDigest::from_bytes(digest.as_bytes()).as_ref(),
            Some(&digest)
        );
    }
}
