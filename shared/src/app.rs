//! The dependencies of a handler, built once per Lambda instance at init.

use lambda_http::Request;

use crate::cache::{Admission, Cache, Route, SessionId};
use crate::config::{self, Config, ConfigError};
use crate::domain::{Email, User};
use crate::password::PasswordHasher;
use crate::store::DynamoUserStore;
use crate::token::IssuedToken;
use crate::token::TokenService;
use crate::{http, ApiError};

pub struct App<S = DynamoUserStore> {
    pub store: S,
    pub cache: Cache,
    pub tokens: TokenService,
    pub hasher: PasswordHasher,
}

impl App {
    /// Reads the configuration and builds the clients. Neither DynamoDB nor Redis is
    /// contacted here (bar the Secrets Manager read of a deployed stack): the first request
    /// opens each connection.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = config::aws()?;
        let config = Config::from_env(&aws).await?;
        let store = DynamoUserStore::new(config::dynamodb(&aws), &config.table_name);
        Self::new(store, &config)
    }
}

impl<S> App<S> {
    pub fn new(store: S, config: &Config) -> Result<Self, ConfigError> {
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
            tokens: TokenService::new(&config.tokens),
            hasher: PasswordHasher::new(),
        })
    }
}

impl<S> App<S> {
    /// Opens a server-side session for `user` and returns its token. When Redis cannot record
    /// it the token is still issued, so sign-up and sign-in keep working through a cache
    /// outage; `GET /me` then refuses that token (503 while Redis is down, 401 after), and the
    /// client signs in again.
    pub async fn open_session(&self, user: &User) -> Result<IssuedToken, ApiError> {
        let session = SessionId::random();
        let ttl = self.tokens.ttl_seconds();
        if let Err(err) = self.cache.start_session(user, &session, ttl).await {
            tracing::warn!(error = %err, user_id = %user.id, "session not recorded");
        }
        self.tokens.issue(user, &session)
    }

    /// Applies the client's rate limit and, for sign-in, the account's lock. Fails open:
    /// with Redis unreachable every request is admitted and a warning is logged.
    pub async fn admit(
        &self,
        route: Route,
        request: &Request,
        account: Option<&Email>,
    ) -> Result<(), ApiError> {
        match self
            .cache
            .admit(route, http::client_ip(request), account)
            .await
        {
            Ok(Admission::Allowed) => Ok(()),
            Ok(Admission::RateLimited { retry_after }) => {
                Err(ApiError::RateLimited { retry_after })
            }
            Ok(Admission::Locked { retry_after }) => Err(ApiError::AccountLocked { retry_after }),
            Err(err) => {
                tracing::warn!(error = %err, "throttling unavailable; admitting the request");
                Ok(())
            }
        }
    }
}
