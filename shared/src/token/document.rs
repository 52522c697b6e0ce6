//! A key document (the signing key set, or the published keys) as a function holds it: read
//! from its Secrets Manager secret, parsed once, and read again now and then so that a rotated
//! set reaches a running function without a redeploy.
//!
//! - A copy older than its maximum age ([`MAX_AGE`] unless `KEY_CACHE_SECONDS` says otherwise)
//!   is read again before use. The rotation publishes a key a whole rotation period before it
//!   signs, so ten minutes late is never too late.
//! - A token naming a kid the copy does not know makes a read at most every [`MIN_REFETCH`]:
//!   a flood of made-up kids cannot turn into a flood of Secrets Manager calls.
//! - A failed read keeps the copy there is (logged): a Secrets Manager outage does not stop
//!   tokens from being issued or checked with keys that were valid ten minutes ago.
//! - Reads are single-flight: requests that need the document while it is being read wait for
//!   that read instead of making their own.
//! - A signing function starts reading during init without waiting for it ([`crate::config::token_keys`]):
//!   the read overlaps the first request's own work (its argon2 above all), and init stays at
//!   the floor.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::ApiError;

/// How long a copy is used before it is read again, by default.
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// The least time between two reads prompted by an unknown kid.
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

/// Where a document comes from.
pub enum Source {
    /// Parsed already (tests, benchmarks): never read again.
    Fixed,
    /// The `AWSCURRENT` version of a Secrets Manager secret, read again when the copy is
    /// `max_age` old.
    Secret {
        client: Box<Client>,
        arn: String,
        max_age: Duration,
    },
}

/// The Secrets Manager client, or what to build it from with the first read, so that a
/// function pays nothing for it at init. One per key document, boxed where it is held.
#[allow(clippy::large_enum_variant)]
pub enum Client {
    Ready(aws_sdk_secretsmanager::Client),
    Lazy {
        aws: aws_config::SdkConfig,
        client: OnceLock<aws_sdk_secretsmanager::Client>,
    },
}

impl Client {
    fn get(&self) -> &aws_sdk_secretsmanager::Client {
        match self {
            Self::Ready(client) => client,
            Self::Lazy { aws, client } => {
                client.get_or_init(|| crate::config::secrets_manager(aws))
            }
        }
    }
}

/// What a document failed to be: unreadable or unparseable. Answered as 503, never as a
/// refused token: the client did nothing wrong.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("could not read the key secret {arn}")]
    Read {
        arn: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the key secret {arn} {reason}")]
    Parse { arn: String, reason: String },
}

impl From<DocumentError> for ApiError {
    fn from(err: DocumentError) -> Self {
        ApiError::Unavailable(Box::new(err))
    }
}

struct Loaded<T> {
    value: Arc<T>,
    read_at: Instant,
}

pub struct KeyDocument<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    source: Source,
    parse: fn(&str) -> Result<T, String>,
    loaded: Mutex<Option<Loaded<T>>>,
    /// Held while a read is in flight.
    reading: tokio::sync::Mutex<()>,
    /// When the last read prompted by an unknown kid was made.
    last_refetch: Mutex<Option<Instant>>,
}

impl<T> KeyDocument<T> {
    fn new(source: Source, parse: fn(&str) -> Result<T, String>, value: Option<T>) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                parse,
                loaded: Mutex::new(value.map(|value| Loaded {
                    value: Arc::new(value),
                    read_at: Instant::now(),
                })),
                reading: tokio::sync::Mutex::new(()),
                last_refetch: Mutex::new(None),
            }),
        }
    }

    /// A document that is `value` for good.
    pub fn fixed(value: T) -> Self {
        Self::new(Source::Fixed, |_| Err("is fixed".to_owned()), Some(value))
    }

    /// A document read from the secret `arn` when first needed, and read again when the
    /// copy is `max_age` old.
    pub fn secret(
        client: aws_sdk_secretsmanager::Client,
        arn: String,
        max_age: Duration,
        parse: fn(&str) -> Result<T, String>,
    ) -> Self {
        let source = Source::Secret {
            client: Box::new(Client::Ready(client)),
            arn,
            max_age,
        };
        Self::new(source, parse, None)
    }

    /// [`Self::secret`], with a client built from `aws` (`AWS_ENDPOINT_URL_SECRETS_MANAGER`
    /// honoured) when the first read needs it.
    pub fn secret_from(
        aws: &aws_config::SdkConfig,
        arn: String,
        max_age: Duration,
        parse: fn(&str) -> Result<T, String>,
    ) -> Self {
        let source = Source::Secret {
            client: Box::new(Client::Lazy {
                aws: aws.clone(),
                client: OnceLock::new(),
            }),
            arn,
            max_age,
        };
        Self::new(source, parse, None)
    }
}

/// Another handle on the same document: one copy, one read in flight.
impl<T> Clone for KeyDocument<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> KeyDocument<T> {
    /// The document, read if there is no copy or the copy is older than its maximum age.
    pub async fn current(&self) -> Result<Arc<T>, DocumentError> {
        self.inner.current().await
    }

    /// A fresher copy when one may be read (the last such read was [`MIN_REFETCH`] ago or
    /// more), for a kid the current copy does not know; `None` otherwise.
    pub async fn fresher(&self) -> Option<Arc<T>> {
        self.inner.fresher().await
    }
}

impl<T> Inner<T> {
    fn copy(&self) -> Option<(Arc<T>, Instant)> {
        let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        loaded
            .as_ref()
            .map(|loaded| (Arc::clone(&loaded.value), loaded.read_at))
    }

    /// Whether a copy read at `read_at` is to be used as is: a fixed document never ages.
    fn fresh(&self, read_at: Instant) -> bool {
        read_at.elapsed() < self.max_age()
    }

    fn max_age(&self) -> Duration {
        match self.source {
            Source::Fixed => Duration::MAX,
            Source::Secret { max_age, .. } => max_age,
        }
    }

    async fn current(&self) -> Result<Arc<T>, DocumentError> {
        if let Some((value, read_at)) = self.copy() {
            if self.fresh(read_at) {
                return Ok(value);
            }
        }
        let _reading = self.reading.lock().await;
        // Another request may have read it while this one waited.
        match self.copy() {
            Some((value, read_at)) if self.fresh(read_at) => Ok(value),
            Some((value, _)) => Ok(self.read().await.unwrap_or_else(|err| {
                tracing::warn!(error = %crate::error::ErrorChain(&err), "keeping the key document read earlier");
                self.retry_later();
                value
            })),
            None => self.read().await,
        }
    }

    /// After a failed re-read, the copy kept is used for [`MIN_REFETCH`] before the next try,
    /// so an outage does not make every request wait on Secrets Manager's timeouts.
    fn retry_later(&self) {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(loaded) = loaded.as_mut() {
            let aged = self.max_age().saturating_sub(MIN_REFETCH);
            loaded.read_at = Instant::now().checked_sub(aged).unwrap_or(loaded.read_at);
        }
    }

    async fn fresher(&self) -> Option<Arc<T>> {
        if matches!(self.source, Source::Fixed) {
            return None;
        }
        {
            let mut last = self
                .last_refetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let _reading = self.reading.lock().await;
        self.read()
            .await
            .inspect_err(|err| tracing::warn!(error = %crate::error::ErrorChain(err), "could not re-read the key document"))
            .ok()
    }

    async fn read(&self) -> Result<Arc<T>, DocumentError> {
        let Source::Secret { client, arn, .. } = &self.source else {
            return self
                .copy()
                .map(|(value, _)| value)
                .ok_or_else(|| DocumentError::Parse {
                    arn: "(fixed)".to_owned(),
                    reason: "is missing".to_owned(),
                });
        };
        let output = client
            .get()
            .get_secret_value()
            .secret_id(arn)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|err| DocumentError::Read {
                arn: arn.clone(),
                source: err.into(),
            })?;
        let text = output.secret_string().ok_or_else(|| DocumentError::Parse {
            arn: arn.clone(),
            reason: "has no string value".to_owned(),
        })?;
        let value = Arc::new((self.parse)(text).map_err(|reason| DocumentError::Parse {
            arn: arn.clone(),
            reason,
        })?);
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some(Loaded {
            value: Arc::clone(&value),
            read_at: Instant::now(),
        });
        Ok(value)
    }
}
