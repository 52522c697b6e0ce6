//! What every function needs, built once per Lambda instance at init: the user and session
//! store, the cache, the token service and the session lifetimes. What only some functions
//! need (argon2, the sign-in locks) they build themselves, in their `main.rs`.

use lambda_http::Request;

use std::future::Future;
use std::time::Duration;

use crate::cache::{Admission, Cache, Route};
use crate::code::Purpose;
use crate::config::{self, Config, ConfigError, KeyUse};
use crate::domain::{Email, Timestamp};
use crate::session::Lifetimes;
use crate::store::{DynamoUserStore, MailQueued, MailStore};
use crate::token::{TokenKeys, TokenService};
use crate::{http, ApiError};

pub struct App<S = DynamoUserStore> {
    pub store: S,
    pub cache: Cache,
    pub tokens: TokenService,
    pub lifetimes: Lifetimes,
}

/// What a function gets ready in the background from init on, while its keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmup {
    /// Sign-up, sign-in and the password routes read DynamoDB and run argon2 on (nearly) every
    /// request: from init on, in the background alongside the key reads, they open the
    /// DynamoDB connection (TCP and TLS handshakes) and run the function's own preparation
    /// (argon2's working memory, zxcvbn's dictionaries), so the first request finds them done
    /// or under way instead of starting them. Init itself waits for none of it. Deployed only;
    /// `INIT_WARMUP=off` skips it there too.
    Credentials,
    /// The others read DynamoDB at most once a request, some only when Redis does not know
    /// the session; none hashes.
    Nothing,
}

/// The DynamoDB warm-up gives up after this; the SDK's connect timeout is 1 s.
const WARMUP_LIMIT: Duration = Duration::from_secs(1);

impl App {
    /// Reads the configuration and builds what every request needs, waiting on no network:
    /// the key documents are read in the background (the signing functions') or with the first
    /// token (the others'), Redis is contacted by the first request, DynamoDB too bar the
    /// warm-up above, and the DynamoDB and Secrets Manager clients are built by their first
    /// call.
    pub async fn from_env<K: KeyUse>(warmup: Warmup, uses: K) -> Result<Self, ConfigError> {
        Self::from_env_with(warmup, uses, std::future::ready(())).await
    }

    /// [`Self::from_env`], and `also` run alongside the warm-up when there is one: sign-in
    /// puts argon2's memory in place there ([`crate::password::PasswordHasher::prepare`]),
    /// sign-up also loads zxcvbn's dictionaries ([`crate::domain::Password::prepare_strength_check`]).
    /// A future rather than a [`Warmup`] variant, so the other functions link neither.
    pub async fn from_env_with<K: KeyUse>(
        warmup: Warmup,
        _uses: K,
        also: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self, ConfigError> {
        let aws = config::aws()?;
        let config = Config::from_env()?;
        let max_age = config::key_cache(&config::env_var)?;
        let (keys, remote) = K::token_keys(&aws, max_age)?;
        // As deployed (the refresh-token key in Secrets Manager; for a function that does not
        // sign, DynamoDB on AWS's own endpoint), where DynamoDB is a TLS handshake away. The
        // warm-up's CPU competes with init's last steps on a small share of a core, so local
        // runs, with nothing far away, skip it and start at the floor.
        let deployed =
            remote.unwrap_or_else(|| config::endpoint_url(config::env_var, "DYNAMODB").is_none());
        let warm = warmup == Warmup::Credentials && deployed && config::warmup_enabled()?;
        // Built now only to be warmed; otherwise by the first call that needs DynamoDB.
        let client = warm.then(|| config::dynamodb(&aws));
        if let Some(client) = &client {
            let client = client.clone();
            tokio::spawn(async move {
                tokio::join!(DynamoUserStore::warm(&client, WARMUP_LIMIT), also);
            });
        }
        let store = match client {
            Some(client) => DynamoUserStore::new(client, &config.table_name),
            None => DynamoUserStore::lazy(&aws, &config.table_name),
        };
        Self::new(store, &config, keys)
    }
}

impl<S> App<S> {
    pub fn new(store: S, config: &Config, keys: TokenKeys) -> Result<Self, ConfigError> {
        let cache =
            Cache::connect_lazily(&config.redis_url, config.cache.clone()).map_err(|err| {
                ConfigError::Invalid {
                    name: "REDIS_URL",
                    reason: format!("is not usable: {err}"),
                }
            })?;
        Ok(Self {
            store,
            cache,
            tokens: TokenService::new(&config.tokens, keys),
            lifetimes: config.sessions,
        })
    }
}

impl<S> App<S> {
    /// Applies the client address's rate limit. Fails open: with Redis unreachable every
    /// request is admitted and a warning is logged. (The per-account sign-in lock does not
    /// depend on Redis: it lives in the store, [`crate::lockout`].)
    pub async fn admit(&self, route: Route, request: &Request) -> Result<(), ApiError> {
        match self.cache.admit(route, http::client_ip(request)).await {
            Ok(Admission::Allowed) => Ok(()),
            Ok(Admission::RateLimited { retry_after }) => {
                Err(ApiError::RateLimited { retry_after })
            }
            Err(err) => {
                tracing::warn!(error = %err, "throttling unavailable; admitting the request");
                Ok(())
            }
        }
    }
}

impl<S: MailStore> App<S> {
    /// Queues a message of `purpose` to `email` ([`MailStore::request_mail`]). The same work,
    /// and the same answer, whether the address has an account or not: only the mailer finds
    /// out. A store outage is the one failure (503), and it cannot depend on the account
    /// either. Over quota is answered as queued: the quota is the address's, whoever asks.
    pub async fn request_mail(&self, purpose: Purpose, email: &Email) -> Result<(), ApiError> {
        let queued = self
            .store
            .request_mail(purpose, email, Timestamp::now())
            .await?;
        if queued == MailQueued::OverQuota {
            tracing::info!(
                purpose = purpose.as_str(),
                "over the address's quota; nothing queued"
            );
        }
        Ok(())
    }
}
