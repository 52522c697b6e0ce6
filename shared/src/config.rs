//! Configuration, read once at init from the environment. A function with a missing or
//! malformed setting, or a weak refresh-token key in its environment, refuses to start rather
//! than serve tokens it could not stand behind. Keys kept in Secrets Manager are read in the
//! background ([`KeyDocument`]): one that cannot be read or is unfit makes the requests that
//! need it a 503, and nothing is written for them.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;

use crate::cache::{CacheSettings, RateLimit};
use crate::lockout::{LockPolicy, Lockout};
use crate::session::{Lifetimes, RefreshKeys};
use crate::token::document::KeyDocument;
use crate::token::jwks::PublishedKeys;
use crate::token::keyset::KeySet;
use crate::token::TokenKeys;

mod trust;

/// Refresh tokens are sealed with HMAC-SHA256: a key shorter than the hash output makes brute
/// force cheaper than it should be.
pub const MIN_SECRET_BYTES: usize = 32;
/// Access tokens live 15 minutes: refresh tokens keep the session, so a stolen access token
/// is useful only briefly.
pub const DEFAULT_TTL_SECONDS: u64 = 900;
pub const MIN_TTL_SECONDS: u64 = 60;
/// Access tokens are bearer credentials; a day is the longest we let one live.
pub const MAX_TTL_SECONDS: u64 = 86_400;
/// The longest a session may be configured to last: a year.
pub const MAX_SESSION_SECONDS: u64 = 365 * 86_400;
/// The `aud` of every access token, and what verifiers (API Gateway's JWT authorizer among
/// them) require.
pub const DEFAULT_AUDIENCE: &str = "rust-auth-api";
/// The `scope` claim: what a JWT authorizer's route scopes are matched against.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// The key refresh tokens are sealed with: the raw UTF-8 bytes of `REFRESH_SECRET` (or of the
/// Secrets Manager secret). Only the signing functions hold it. Never printed.
pub struct RefreshSecret(Vec<u8>);

impl RefreshSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, ConfigError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: "REFRESH_SECRET",
                reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
            });
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `TOKEN_ISSUER`; `None`: the https URL the API is reached at ([`crate::token::Issuer`]).
    pub issuer: Option<String>,
    pub audience: String,
    pub scope: String,
    pub ttl_seconds: u64,
}

/// What a function does with tokens, and so which key material it is given. A type per use,
/// picked by the function's main.rs, rather than a value: each function then links the key
/// reads and parsers of its own use only. A function that handles no token links no Secrets
/// Manager client and no key parsing at all (~350 KB of arm64 code, docs/performance.md).
pub trait KeyUse {
    /// The function's keys, and whether they say it runs as deployed (`None`: they cannot
    /// tell; [`crate::App`] asks the DynamoDB endpoint). `max_age` is [`key_cache`]'s.
    fn token_keys(
        aws: &SdkConfig,
        max_age: Duration,
    ) -> Result<(TokenKeys, Option<bool>), ConfigError>;
}

/// Sign-up, sign-in, refresh: the private key set (`SIGNING_KEYS_ARN`) and the refresh-token
/// key (`REFRESH_SECRET` or `REFRESH_SECRET_ARN`), whose reads start at init in the background
/// (the first request's own work, argon2 above all, overlaps them; they are awaited before
/// anything is written).
#[derive(Debug, Clone, Copy)]
pub struct SignTokens;

/// The functions that verify an access token themselves: the published keys only
/// (`PUBLIC_KEYS_ARN`, read when the first token arrives).
#[derive(Debug, Clone, Copy)]
pub struct VerifyTokens;

/// The functions that neither sign nor verify: the forgotten password's, and the account
/// routes behind API Gateway's JWT authorizer, which checked the token before they run.
#[derive(Debug, Clone, Copy)]
pub struct NoTokens;

impl KeyUse for SignTokens {
    fn token_keys(
        aws: &SdkConfig,
        max_age: Duration,
    ) -> Result<(TokenKeys, Option<bool>), ConfigError> {
        let source = SecretSource::from_env()?;
        let remote = source.is_remote();
        let arn = env_var("SIGNING_KEYS_ARN").ok_or(ConfigError::Missing("SIGNING_KEYS_ARN"))?;
        let keys = KeyDocument::secret_from(aws, arn, max_age, |text| {
            KeySet::parse(text).map_err(|err| err.to_string())
        });
        let refresh = source.into_document(aws, max_age)?;
        let (set, key) = (keys.clone(), refresh.clone());
        tokio::spawn(async move {
            let _ = tokio::join!(set.current(), key.current());
        });
        Ok((TokenKeys::Sign { keys, refresh }, Some(remote)))
    }
}

impl KeyUse for VerifyTokens {
    fn token_keys(
        aws: &SdkConfig,
        max_age: Duration,
    ) -> Result<(TokenKeys, Option<bool>), ConfigError> {
        let arn = env_var("PUBLIC_KEYS_ARN").ok_or(ConfigError::Missing("PUBLIC_KEYS_ARN"))?;
        let keys = KeyDocument::secret_from(aws, arn, max_age, |text| {
            PublishedKeys::parse(text).map_err(|err| err.to_string())
        });
        Ok((TokenKeys::Verify(keys), None))
    }
}

impl KeyUse for NoTokens {
    fn token_keys(_: &SdkConfig, _: Duration) -> Result<(TokenKeys, Option<bool>), ConfigError> {
        Ok((TokenKeys::None, None))
    }
}

pub struct Config {
    pub table_name: String,
    pub tokens: TokenSettings,
    /// `redis://` locally, `rediss://` (TLS) to ElastiCache.
    pub redis_url: String,
    pub cache: CacheSettings,
    pub sessions: Lifetimes,
}

/// `REDIS_URL` may carry a password (`rediss://user:pass@host`), so it is not printed.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("tokens", &self.tokens)
            .field("redis_url", &"<redacted>")
            .field("cache", &self.cache)
            .field("sessions", &self.sessions)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where the refresh-token key comes from.
#[derive(Debug)]
pub enum SecretSource {
    /// `REFRESH_SECRET`, as is (local runs).
    Env(SecretText),
    /// `REFRESH_SECRET_ARN`, read from Secrets Manager in the background from init on (the
    /// deployed stack).
    SecretsManager { arn: String },
}

/// The key's text from the environment; never printed.
pub struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl SecretSource {
    /// `REFRESH_SECRET` wins over `REFRESH_SECRET_ARN`; one of them must be set.
    pub fn from_env() -> Result<Self, ConfigError> {
        match (env_var("REFRESH_SECRET"), env_var("REFRESH_SECRET_ARN")) {
            (Some(secret), _) => Ok(Self::Env(SecretText(secret))),
            (None, Some(arn)) => Ok(Self::SecretsManager { arn }),
            (None, None) => Err(ConfigError::Missing("REFRESH_SECRET or REFRESH_SECRET_ARN")),
        }
    }

    /// Whether the key is read from the network (the deployed stack).
    pub fn is_remote(&self) -> bool {
        matches!(self, Self::SecretsManager { .. })
    }

    /// The refresh-token key as a document: from the environment, checked now (a weak key
    /// stops the function) and fixed; from Secrets Manager, read in the background from init
    /// on ([`SignTokens`]) and checked when read, so init never waits for it.
    pub fn into_document(
        self,
        aws: &SdkConfig,
        max_age: Duration,
    ) -> Result<KeyDocument<RefreshKeys>, ConfigError> {
        match self {
            Self::Env(SecretText(secret)) => Ok(KeyDocument::fixed(RefreshKeys::derive(
                &RefreshSecret::new(secret.into_bytes())?.0,
            ))),
            Self::SecretsManager { arn } => {
                let document = KeyDocument::secret_from(aws, arn, max_age, |text| {
                    RefreshSecret::new(text.as_bytes().to_vec())
                        .map(|secret| RefreshKeys::derive(&secret.0))
                        .map_err(|err| err.to_string())
                });
                Ok(document)
            }
        }
    }
}

impl Config {
    /// Reads the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(env_var)
    }

    /// The pure part of [`Config::from_env`], separate so tests need no environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = var("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let redis_url = var("REDIS_URL").ok_or(ConfigError::Missing("REDIS_URL"))?;
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(ConfigError::Invalid {
                name: "REDIS_URL",
                reason: "must start with redis:// or rediss://".to_owned(),
            });
        }
        let defaults = RateLimit::default();
        let cache = CacheSettings {
            profile_ttl_seconds: number(&var, "PROFILE_CACHE_TTL_SECONDS", 300, 1..=86_400)?,
            max_idle: Duration::from_secs(number(
                &var,
                "REDIS_MAX_IDLE_SECONDS",
                crate::cache::DEFAULT_MAX_IDLE_SECONDS,
                1..=3600,
            )?),
            rate_limit: RateLimit {
                capacity: number(
                    &var,
                    "RATE_LIMIT_CAPACITY",
                    defaults.capacity,
                    1..=1_000_000,
                )?,
                refill_per_second: f64::from(number(
                    &var,
                    "RATE_LIMIT_REFILL_PER_SECOND",
                    defaults.refill_per_second as u32,
                    1..=1_000_000,
                )?),
            },
        };
        let sessions = lifetimes(&var)?;
        Ok(Self {
            table_name,
            redis_url,
            cache,
            sessions,
            tokens: token_settings(&var)?,
        })
    }
}

/// The token claims' settings: `TOKEN_ISSUER`, `TOKEN_AUDIENCE`, `TOKEN_SCOPE`,
/// `TOKEN_TTL_SECONDS`. For other services to find our keys the issuer is a URL (what
/// verifiers append `/.well-known/openid-configuration` to), so a trailing slash is refused.
pub fn token_settings(var: &impl Fn(&str) -> Option<String>) -> Result<TokenSettings, ConfigError> {
    let issuer = var("TOKEN_ISSUER");
    if issuer
        .as_deref()
        .is_some_and(|issuer| issuer.ends_with('/') || issuer.contains(char::is_whitespace))
    {
        return Err(ConfigError::Invalid {
            name: "TOKEN_ISSUER",
            reason: "must have no whitespace and no trailing slash".to_owned(),
        });
    }
    Ok(TokenSettings {
        issuer,
        audience: var("TOKEN_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
        scope: var("TOKEN_SCOPE").unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
        ttl_seconds: number(
            var,
            "TOKEN_TTL_SECONDS",
            DEFAULT_TTL_SECONDS,
            MIN_TTL_SECONDS..=MAX_TTL_SECONDS,
        )?,
    })
}

/// `REFRESH_TTL_SECONDS` (idle lifetime of a refresh token), `SESSION_MAX_SECONDS` (absolute
/// lifetime of a session) and `REFRESH_REUSE_GRACE_SECONDS`. Seconds are allowed, for tests
/// of expiry; the template asks for a minute at least.
fn lifetimes(var: &impl Fn(&str) -> Option<String>) -> Result<Lifetimes, ConfigError> {
    let defaults = Lifetimes::default();
    Ok(Lifetimes {
        refresh_ttl_seconds: number(
            var,
            "REFRESH_TTL_SECONDS",
            defaults.refresh_ttl_seconds,
            1..=MAX_SESSION_SECONDS,
        )?,
        max_seconds: number(
            var,
            "SESSION_MAX_SECONDS",
            defaults.max_seconds,
            1..=MAX_SESSION_SECONDS,
        )?,
        grace_seconds: number(
            var,
            "REFRESH_REUSE_GRACE_SECONDS",
            defaults.grace_seconds,
            0..=300,
        )?,
    })
}

/// The sign-in locks (sign-in's alone, so no other function reads or checks them):
/// `ACCOUNT_LOCK_THRESHOLD` attempts per account, and, when `ADDRESS_LOCK_THRESHOLD` is set
/// (0 or unset: off), that many per account and client address, which must be fewer; both
/// locks last at most `ACCOUNT_LOCK_MAX_SECONDS`.
pub fn lockout(var: impl Fn(&str) -> Option<String>) -> Result<Lockout, ConfigError> {
    let var = &var;
    let defaults = LockPolicy::default();
    let account = LockPolicy {
        threshold: number(var, "ACCOUNT_LOCK_THRESHOLD", defaults.threshold, 2..=100)?,
        cap_millis: 1000
            * number(
                var,
                "ACCOUNT_LOCK_MAX_SECONDS",
                defaults.cap_millis / 1000,
                1..=86_400,
            )?,
    };
    let per_address = match number(var, "ADDRESS_LOCK_THRESHOLD", 0, 0..=100)? {
        0 => None,
        threshold if (2..account.threshold).contains(&threshold) => Some(LockPolicy {
            threshold,
            ..account
        }),
        _ => {
            return Err(ConfigError::Invalid {
                name: "ADDRESS_LOCK_THRESHOLD",
                reason: format!(
                    "must be 0 (off) or from 2 to below ACCOUNT_LOCK_THRESHOLD ({})",
                    account.threshold
                ),
            })
        }
    };
    Ok(Lockout {
        account,
        per_address,
    })
}

/// A variable of the process environment; set but empty counts as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A whole number from the environment within `range`, or `default` when unset.
fn number<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(raw) = var(name) else {
        return Ok(default);
    };
    raw.parse::<T>()
        .ok()
        .filter(|value| range.contains(value))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!(
                "must be a whole number in {}..={}",
                range.start(),
                range.end()
            ),
        })
}

/// `KEY_CACHE_SECONDS`: how long a function uses its copy of a key document before reading
/// it again, 1 to 3600 (the JWKS's own cache lifetime); ten minutes by default. Short only in
/// tests of rotation, which would otherwise wait that long for a rotated set to arrive.
pub fn key_cache(var: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let default = crate::token::document::MAX_AGE.as_secs();
    number(var, "KEY_CACHE_SECONDS", default, 1..=3600).map(Duration::from_secs)
}

/// The AWS SDK configuration every client is built from: standard retries with back-off for
/// throttling and transient errors, and timeouts that end well inside the function timeout so
/// a stuck dependency becomes a 503, not a Lambda timeout.
///
/// Built from the environment Lambda provides (region, credentials) rather than through
/// aws-config's loader: the loader's default chain builds IMDS/ECS/STS/profile providers,
/// which load the TLS roots during init and link ~400 KiB (the STS client among it) into
/// every function. Endpoints for local servers come from `AWS_ENDPOINT_URL_<SERVICE>`, as
/// the loader reads them ([`dynamodb`], [`secrets_manager`]); the trusted roots from
/// [`trust`]. Fails only on an unusable `AWS_CA_BUNDLE`.
pub fn aws() -> Result<SdkConfig, ConfigError> {
    aws_with(|name| std::env::var(name).ok())
}

/// [`aws`] with the variables looked up in `lookup` instead of the process environment.
pub fn aws_with(lookup: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, ConfigError> {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(trust::tls_context(var)?)
        .build_https();
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .region(region.map(Region::new))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build())
}

/// The DynamoDB client; `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) points it at a
/// local server.
pub fn dynamodb(aws: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let var = |name: &str| std::env::var(name).ok();
    let mut config = aws_sdk_dynamodb::config::Builder::from(aws);
    config.set_endpoint_url(endpoint_url(var, "DYNAMODB"));
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// The Secrets Manager client; `AWS_ENDPOINT_URL_SECRETS_MANAGER` as above.
pub fn secrets_manager(aws: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let var = |name: &str| std::env::var(name).ok();
    let mut config = aws_sdk_secretsmanager::config::Builder::from(aws);
    config.set_endpoint_url(endpoint_url(var, "SECRETS_MANAGER"));
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}

/// `INIT_WARMUP`: `on` (the default) or `off` ([`crate::Warmup`]).
pub fn warmup_enabled() -> Result<bool, ConfigError> {
    switch("INIT_WARMUP", true)
}

/// `REQUIRE_VERIFIED_EMAIL`: `off` (the default) or `on`, sign-in refusing (403) an account
/// whose address is not verified.
pub fn require_verified_email() -> Result<bool, ConfigError> {
    switch("REQUIRE_VERIFIED_EMAIL", false)
}

fn switch(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name).ok().as_deref() {
        None | Some("") => Ok(default),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            name,
            reason: "must be on or off".to_owned(),
        }),
    }
}

/// The service's own endpoint variable first, then the global one; unset or empty: none.
pub fn endpoint_url(var: impl Fn(&str) -> Option<String>, service: &str) -> Option<String> {
    var(&format!("AWS_ENDPOINT_URL_{service}"))
        .filter(|v| !v.is_empty())
        .or_else(|| var("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const REQUIRED: &[(&str, &str)] = &[
        ("TABLE_NAME", "users"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        REQUIRED.iter().chain(extra).copied().collect()
    }

    #[test]
    fn the_per_address_lock_is_off_by_default_and_stricter_than_the_account_s() {
        assert_eq!(lockout(vars(&[])).unwrap(), Lockout::default());
        let on = with(&[
            ("ACCOUNT_LOCK_THRESHOLD", "20"),
            ("ADDRESS_LOCK_THRESHOLD", "5"),
            ("ACCOUNT_LOCK_MAX_SECONDS", "60"),
        ]);
        let on = lockout(vars(&on)).unwrap();
        assert_eq!(on.account.threshold, 20);
        assert_eq!(on.per_address.map(|p| p.threshold), Some(5));
        assert_eq!(on.per_address.map(|p| p.cap_millis), Some(60_000));
        for (account, address) in [("5", "5"), ("5", "9"), ("20", "1"), ("20", "x")] {
            let refused = [
                ("ACCOUNT_LOCK_THRESHOLD", account),
                ("ADDRESS_LOCK_THRESHOLD", address),
            ];
            let err = lockout(vars(&refused)).err();
            assert!(
                matches!(
                    err,
                    Some(ConfigError::Invalid {
                        name: "ADDRESS_LOCK_THRESHOLD",
                        ..
                    })
                ),
                "{account}/{address}: {err:?}"
            );
            // Only sign-in reads the locks: a setting it refuses stops no other function.
            assert!(Config::from_vars(vars(&with(&refused))).is_ok());
        }
    }

    #[test]
    fn the_key_cache_is_ten_minutes_unless_set_within_an_hour() {
        assert_eq!(key_cache(&vars(&[])).unwrap(), Duration::from_secs(600));
        let short = vars(&[("KEY_CACHE_SECONDS", "1")]);
        assert_eq!(key_cache(&short).unwrap(), Duration::from_secs(1));
        for refused in ["0", "3601", "-1", "ten"] {
            let err = key_cache(&vars(&[("KEY_CACHE_SECONDS", refused)])).err();
            assert!(
                matches!(
                    err,
                    Some(ConfigError::Invalid {
                        name: "KEY_CACHE_SECONDS",
                        ..
                    })
                ),
                "{refused}: {err:?}"
            );
        }
    }

    #[test]
    fn a_service_endpoint_wins_over_the_global_one() {
        let both = vars(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(
            endpoint_url(&both, "DYNAMODB").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            endpoint_url(&both, "SECRETS_MANAGER").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        let empty = vars(&[("AWS_ENDPOINT_URL_DYNAMODB", "")]);
        assert_eq!(endpoint_url(&empty, "DYNAMODB"), None);
    }

    #[test]
    fn defaults() {
        let config = Config::from_vars(vars(REQUIRED)).unwrap();
        assert_eq!(config.table_name, "users");
        assert_eq!(config.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(config.cache.profile_ttl_seconds, 300);
        assert_eq!(config.cache.rate_limit, RateLimit::default());
        assert_eq!(config.tokens.ttl_seconds, 900);
        assert_eq!(config.sessions, Lifetimes::default());
        assert_eq!(config.sessions.refresh_ttl_seconds, 30 * 86_400);
        assert_eq!(config.sessions.max_seconds, 90 * 86_400);
        assert_eq!(config.sessions.grace_seconds, 10);
        assert_eq!(config.tokens.issuer, None, "learnt from the first request");
        for bad in ["https://a.example/", "https://a b"] {
            let refused = Config::from_vars(vars(&with(&[("TOKEN_ISSUER", bad)])));
            assert!(refused.is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_short_secrets_and_bad_ttls() {
        let short = RefreshSecret::new(vec![b'x'; 31]);
        assert!(matches!(
            short,
            Err(ConfigError::Invalid {
                name: "REFRESH_SECRET",
                ..
            })
        ));
        assert!(RefreshSecret::new(SECRET.to_vec()).is_ok());
        for ttl in ["0", "59", "-5", "abc", "86401"] {
            let result = Config::from_vars(vars(&with(&[("TOKEN_TTL_SECONDS", ttl)])));
            assert!(result.is_err(), "{ttl}");
        }
        for (name, value) in [
            ("REDIS_URL", "http://localhost"),
            ("RATE_LIMIT_CAPACITY", "0"),
            ("PROFILE_CACHE_TTL_SECONDS", "x"),
            ("REFRESH_TTL_SECONDS", "0"),
            ("SESSION_MAX_SECONDS", "31536001"),
            ("REFRESH_REUSE_GRACE_SECONDS", "301"),
        ] {
            let result = Config::from_vars(vars(&with(&[(name, value)])));
            assert!(result.is_err(), "{name}={value}");
        }
        assert!(matches!(
            Config::from_vars(vars(&[("TABLE_NAME", "t")])),
            Err(ConfigError::Missing("REDIS_URL"))
        ));
        assert!(matches!(
            Config::from_vars(vars(&[])),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }

    #[test]
    fn secrets_are_not_printed() {
        let with_password = [("REDIS_URL", "rediss://app:hunter2hunter2@cache:6379")];
        let config = Config::from_vars(vars(&with(&with_password))).unwrap();
        let printed = format!("{config:?}");
        let secret = format!("{:?}", RefreshSecret::new(SECRET.to_vec()).unwrap());
        assert!(!secret.contains("0123456789abcdef"), "{secret}");
        assert!(!printed.contains("hunter2hunter2"));
    }
}
