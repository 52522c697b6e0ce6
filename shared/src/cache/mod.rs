//! Redis/Valkey: the short-lived, hot state next to DynamoDB. Sessions (what makes a token
//! revocable), per-address rate limits and the profile cache. Users themselves never live here.
//!
//! Keys are hash-tagged so every multi-key operation stays in one slot, as ElastiCache
//! Serverless (cluster mode) requires: `{u:<user id>}:…` for a user's sessions and profile,
//! `{ip:<address>}:…` for a client's rate-limit buckets. The per-account sign-in lock is not
//! here: it must survive a flush or an outage, so it lives in DynamoDB ([`crate::lockout`]).

mod connection;
mod profile;
mod sessions;
mod throttle;

use std::time::Duration;

use std::sync::Arc;

use redis::aio::ConnectionManagerConfig;

use connection::{Connection, Connections};

pub use sessions::{SessionId, SessionLookup, SessionState};
pub use throttle::{Admission, RateLimit, Route};

use crate::ApiError;

/// A Redis command that failed or timed out; the caller decides whether that fails open
/// (throttling) or closed (sessions).
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct CacheError(#[from] redis::RedisError);

impl From<CacheError> for ApiError {
    fn from(err: CacheError) -> Self {
        ApiError::Unavailable(err.into())
    }
}

/// Replies to the packed bytes of a command or pipeline, one value per command.
#[cfg(feature = "in-process")]
pub type Responder = Arc<dyn Fn(&[u8]) -> Vec<redis::Value> + Send + Sync>;

/// Tunables read from the environment (see `Config`).
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub profile_ttl_seconds: u64,
    pub rate_limit: RateLimit,
    /// A connection idle longer than this is replaced before use (`connection.rs`).
    pub max_idle: Duration,
}

/// Below the 350 s after which AWS's NAT gateways and load balancers drop an idle TCP flow.
pub const DEFAULT_MAX_IDLE_SECONDS: u64 = 300;

#[derive(Clone)]
pub struct Cache {
    connections: Arc<Connections>,
    settings: CacheSettings,
    scripts: Arc<sessions::SessionScripts>,
}

/// Redis answers in well under a millisecond; anything slower is an outage, and a request
/// should learn that fast rather than wait through long reconnect back-offs.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

impl Cache {
    /// Builds the client without connecting: the first command connects, so init does no
    /// network I/O, and a lost connection is re-established on the next command.
    pub fn connect_lazily(url: &str, settings: CacheSettings) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        Ok(Self {
            connections: Arc::new(Connections::new(client, config, settings.max_idle)?),
            settings,
            scripts: Arc::new(sessions::SessionScripts::new()),
        })
    }

    /// A cache whose commands `answer` replies to in-process: the CPU benchmarks measure our
    /// side of every command (building, packing, parsing replies) without a socket.
    #[cfg(feature = "in-process")]
    pub fn in_process(answer: Responder, settings: CacheSettings) -> Result<Self, CacheError> {
        Ok(Self {
            connections: Arc::new(Connections::in_process(answer)?),
            settings,
            scripts: Arc::new(sessions::SessionScripts::new()),
        })
    }

    fn connection(&self) -> Connection {
        self.connections.checkout()
    }

    /// Deletes keys of one slot (callers pass keys sharing a hash tag).
    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<i64>(&mut self.connection())
            .await?;
        Ok(())
    }
}
