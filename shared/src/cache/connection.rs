//! The Redis connection every cache command goes through.
//!
//! Redis matches replies to requests by order on one multiplexed connection. When a reply
//! times out (a partition, a stalled node), the request it belonged to stays queued, so once
//! the network heals every later reply would be handed to the request before it. redis-rs's
//! `ConnectionManager` reconnects on dropped connections but not on timeouts, so here a
//! timeout retires the connection, and the next command opens a fresh one.
//!
//! Networks also drop idle connections without a word: AWS documents 350 s for TCP flows
//! through NAT gateways and load balancers, and Lambda's VPC interfaces behave alike (Lambda
//! documents no figure of its own). A frozen Lambda instance cannot keep a connection alive, so
//! a connection idle longer than `max_idle` is replaced before it is used, and a command that
//! fails on I/O or times out is sent once more on a fresh connection: the first request after
//! a quiet spell neither waits for a reply that cannot come nor fails.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

pub(super) struct Connections {
    client: redis::Client,
    config: ConnectionManagerConfig,
    current: RwLock<Generation>,
    max_idle: Duration,
}

#[derive(Clone)]
struct Generation {
    number: u64,
    manager: Link,
    /// When a command last went out on it.
    used: Arc<Mutex<Instant>>,
}

impl Generation {
    fn new(number: u64, manager: Link) -> Self {
        Self {
            number,
            manager,
            used: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// How long it has been idle, and marks it used now.
    fn touch(&self) -> Duration {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = used.elapsed();
        *used = Instant::now();
        idle
    }
}

/// Where commands go. Only the CPU benchmarks build the in-process kind.
#[derive(Clone)]
enum Link {
    Redis(ConnectionManager),
    #[cfg(feature = "in-process")]
    InProcess(super::Responder),
}

impl Link {
    async fn command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Link::Redis(manager) => manager.req_packed_command(cmd).await,
            #[cfg(feature = "in-process")]
            Link::InProcess(answer) => Ok(answer(&cmd.get_packed_command())
                .into_iter()
                .next()
                .unwrap_or(Value::Nil)),
        }
    }

    async fn pipeline(
        &mut self,
        pipeline: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Link::Redis(manager) => manager.req_packed_commands(pipeline, offset, count).await,
            #[cfg(feature = "in-process")]
            Link::InProcess(answer) => Ok(answer(&pipeline.get_packed_pipeline())),
        }
    }

    fn db(&self) -> i64 {
        match self {
            Link::Redis(manager) => manager.get_db(),
            #[cfg(feature = "in-process")]
            Link::InProcess(_) => 0,
        }
    }
}

impl Connections {
    /// Connects lazily: the first command connects, so building this does no I/O.
    pub(super) fn new(
        client: redis::Client,
        config: ConnectionManagerConfig,
        max_idle: Duration,
    ) -> RedisResult<Self> {
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Self {
            client,
            config,
            current: RwLock::new(Generation::new(0, Link::Redis(manager))),
            max_idle,
        })
    }

    /// Commands answered by `answer`, never by a server.
    #[cfg(feature = "in-process")]
    pub(super) fn in_process(answer: super::Responder) -> RedisResult<Self> {
        let client = redis::Client::open("redis://127.0.0.1:1")?;
        Ok(Self {
            client,
            config: ConnectionManagerConfig::new(),
            current: RwLock::new(Generation::new(0, Link::InProcess(answer))),
            max_idle: Duration::MAX,
        })
    }

    pub(super) fn checkout(self: &Arc<Self>) -> Connection {
        Connection {
            current: self.current(),
            owner: self.clone(),
        }
    }

    fn current(&self) -> Generation {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The connection to send a command on, and how long it had been idle: the current one,
    /// or a new one if the current one has been idle so long that the network may have
    /// dropped it.
    fn fresh(&self, current: Generation) -> (Generation, Duration) {
        let idle = current.touch();
        if idle <= self.max_idle {
            return (current, idle);
        }
        tracing::debug!("redis connection idle too long; replaced before use");
        self.retire(current.number);
        let next = self.current();
        next.touch();
        (next, Duration::ZERO)
    }

    /// Whether a command that failed with `err` after the connection had been `idle` may
    /// succeed on a new connection. A closed or reset connection: yes (not a refusal: a new
    /// connection would be refused too). A timeout: only if the connection had been quiet a
    /// while (a tenth of `max_idle`), the mark of a flow the network forgot; one that carried
    /// traffic a moment ago points at a slow or partitioned server, where a second wait would
    /// only double every request's delay.
    fn worth_a_new_connection(&self, err: &redis::RedisError, idle: Duration) -> bool {
        if err.is_timeout() {
            return idle > self.max_idle / 10;
        }
        err.is_io_error() && !err.is_connection_refusal()
    }

    /// Replaces generation `number` (once, however many requests saw it fail).
    fn retire(&self, number: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.number != number {
            return;
        }
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(manager) => *current = Generation::new(number + 1, Link::Redis(manager)),
            Err(err) => tracing::error!(error = %err, "cannot replace the redis connection"),
        }
    }
}

/// One checked-out connection; cheap to clone, shares the underlying socket.
pub(super) struct Connection {
    current: Generation,
    owner: Arc<Connections>,
}

impl Connection {
    /// Runs `send` on a fresh connection; after a lost or forgotten connection, retires it
    /// and runs `send` once more on a new one. Every command we send may run twice (token
    /// bucket takes, session and profile writes, deletes): a second run changes nothing that
    /// matters.
    async fn with_retry<'a, T>(
        &mut self,
        send: impl Fn(Link) -> RedisFuture<'a, T>,
    ) -> RedisResult<T> {
        let (current, idle) = self.owner.fresh(self.current.clone());
        self.current = current;
        let result = send(self.current.manager.clone()).await;
        let Err(err) = &result else {
            return result;
        };
        if !self.owner.worth_a_new_connection(err, idle) {
            if err.is_timeout() {
                self.owner.retire(self.current.number);
            }
            return result;
        }
        tracing::warn!(error = %err, "redis connection lost; retrying once on a new one");
        self.owner.retire(self.current.number);
        self.current = self.owner.current();
        self.current.touch();
        let result = send(self.current.manager.clone()).await;
        if matches!(&result, Err(err) if err.is_timeout()) {
            self.owner.retire(self.current.number);
        }
        result
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(self.with_retry(move |mut link| Box::pin(async move { link.command(cmd).await })))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(self.with_retry(move |mut link| {
            Box::pin(async move { link.pipeline(pipeline, offset, count).await })
        }))
    }

    fn get_db(&self) -> i64 {
        self.current.manager.db()
    }
}
