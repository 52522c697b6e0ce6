//! A loopback Lambda Runtime API (the 2018-06-01 protocol) for one function process: it hands
//! out the events it is given one at a time, as Lambda does, and reports when the process
//! first asked for work and what it answered.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

struct Invocation {
    body: Bytes,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

pub struct RuntimeApi {
    pub port: u16,
    events: mpsc::Sender<Invocation>,
    /// The instant of the first `next` poll, or the init error the process reported.
    ready: watch::Receiver<Option<Result<Instant, String>>>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (events, queue) = mpsc::channel::<Invocation>(1);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let (ready_tx, ready) = watch::channel(None);
        let ready_tx = Arc::new(ready_tx);
        let state = Arc::new(State::default());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (queue, ready_tx, state) = (queue.clone(), ready_tx.clone(), state.clone());
                let service = hyper::service::service_fn(move |request| {
                    serve(request, queue.clone(), ready_tx.clone(), state.clone())
                });
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok(Self {
            port,
            events,
            ready,
        })
    }

    /// Waits for the process to finish init: its first `next` poll (or its init error).
    pub async fn ready(&self, limit: Duration) -> Result<Instant, String> {
        let mut ready = self.ready.clone();
        let outcome = tokio::time::timeout(limit, ready.wait_for(Option::is_some))
            .await
            .map_err(|_| format!("no poll within {limit:?}"))?
            .map_err(|_| "runtime API stopped".to_owned())?;
        outcome.clone().unwrap_or_else(|| Err("not ready".into()))
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Bytes, limit: Duration) -> Result<Outcome, String> {
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation { body: event, reply };
        self.events
            .send(invocation)
            .await
            .map_err(|_| "runtime API stopped".to_owned())?;
        tokio::time::timeout(limit, answer)
            .await
            .map_err(|_| format!("no answer within {limit:?}"))?
            .map_err(|_| "the invocation was dropped".to_owned())
    }
}

type Reply = Response<Full<Bytes>>;

async fn serve(
    request: Request<Incoming>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    ready: Arc<watch::Sender<Option<Result<Instant, String>>>>,
    state: Arc<State>,
) -> Result<Reply, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if method == Method::GET && route == "/invocation/next" {
        ready.send_if_modified(|seen| {
            let first = seen.is_none();
            if first {
                *seen = Some(Ok(Instant::now()));
            }
            first
        });
        let Some(invocation) = queue.lock().await.recv().await else {
            return Ok(status(StatusCode::GONE));
        };
        let id = uuid::Uuid::new_v4().to_string();
        state
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), invocation.reply);
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            + Duration::from_secs(10);
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header(
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            )
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(invocation.body));
        return Ok(response.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR)));
    }
    if method == Method::POST && route == "/init/error" {
        let body = request.into_body().collect().await.map(|b| b.to_bytes());
        let text = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
        ready.send_replace(Some(Err(text)));
        return Ok(status(StatusCode::ACCEPTED));
    }
    if method == Method::POST {
        if let Some(rest) = route.strip_prefix("/invocation/") {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let reply = state
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(id);
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let outcome = match kind {
                "response" => Outcome::Response(body),
                "error" => Outcome::Error(body),
                _ => return Ok(status(StatusCode::NOT_FOUND)),
            };
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
            return Ok(status(StatusCode::ACCEPTED));
        }
    }
    Ok(status(StatusCode::NOT_FOUND))
}

fn status(code: StatusCode) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
