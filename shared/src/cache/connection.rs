//! The Redis connection every cache command goes through.
//!
//! Redis matches replies to requests by order on one multiplexed connection. When a reply
//! times out (a partition, a stalled node), the request it belonged to stays queued, so once
//! the network heals every later reply would be handed to the request before it. redis-rs's
//! `ConnectionManager` reconnects on dropped connections but not on timeouts, so here a
//! timeout retires the connection, and the next command opens a fresh one.

use std::sync::{Arc, PoisonError, RwLock};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

pub(super) struct Connections {
    client: redis::Client,
    config: ConnectionManagerConfig,
    current: RwLock<Generation>,
}

#[derive(Clone)]
struct Generation {
    number: u64,
    manager: Link,
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
    pub(super) fn new(client: redis::Client, config: ConnectionManagerConfig) -> RedisResult<Self> {
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Self {
            client,
            config,
            current: RwLock::new(Generation {
                number: 0,
                manager: Link::Redis(manager),
            }),
        })
    }

    /// Commands answered by `answer`, never by a server.
    #[cfg(feature = "in-process")]
    pub(super) fn in_process(answer: super::Responder) -> RedisResult<Self> {
        let client = redis::Client::open("redis://127.0.0.1:1")?;
        Ok(Self {
            client,
            config: ConnectionManagerConfig::new(),
            current: RwLock::new(Generation {
                number: 0,
                manager: Link::InProcess(answer),
            }),
        })
    }

    pub(super) fn checkout(self: &Arc<Self>) -> Connection {
        let current = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Connection {
            current,
            owner: self.clone(),
        }
    }

    /// Replaces generation `number` (once, however many requests saw it time out).
    fn retire(&self, number: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.number != number {
            return;
        }
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(manager) => {
                tracing::warn!("redis reply timed out; the connection is replaced");
                *current = Generation {
                    number: number + 1,
                    manager: Link::Redis(manager),
                };
            }
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
    fn after<T>(&self, result: &RedisResult<T>) {
        if matches!(result, Err(err) if err.is_timeout()) {
            self.owner.retire(self.current.number);
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.current.manager.command(cmd).await;
            self.after(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self.current.manager.pipeline(pipeline, offset, count).await;
            self.after(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.current.manager.db()
    }
}
