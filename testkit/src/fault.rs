//! A TCP proxy between the code under test and a real server, for injecting network faults the
//! server itself cannot produce on demand: a stall, a partition, a connection cut after the
//! server has acted on the request.
//!
//! The mode is read for every chunk, so it also hits connections the client already pooled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Bytes flow both ways untouched.
    None,
    /// Every chunk waits this long before it is passed on, one after another: a slow back-end.
    Delay(Duration),
    /// Every chunk arrives this long after it was sent, chunks in flight together: a network
    /// with this one-way latency.
    Latency(Duration),
    /// Requests are swallowed and nothing ever comes back: a partition without resets.
    Blackhole,
    /// Requests reach the server, but its answers are dropped and the connection closed: the
    /// server may have committed what the client will see as a failure.
    DropResponses,
    /// [`Fault::DropResponses`] for the next answer only; then bytes flow again: an answer
    /// lost once, after the server acted, and the client's retry.
    DropNextResponse,
    /// The answer to the next request that contains these bytes (e.g. an operation name) is
    /// dropped as [`Fault::DropNextResponse`] drops it; other traffic flows: one write acted
    /// on and its answer lost, among reads that went through.
    DropResponseTo(&'static [u8]),
    /// Connections are closed as soon as they carry anything: a server that went away.
    Reset,
    /// Answers pass with the first bytes replaced by the second (same length) wherever they
    /// occur in a chunk: a response the client cannot parse, carrying the server's real data.
    Rewrite(&'static [u8], &'static [u8]),
}

/// Listens on a free loopback port and forwards to `upstream` under the current [`Fault`].
/// Runs on its own thread and runtime, so it keeps serving whatever the test's runtime does.
pub struct FaultProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    connections: Arc<AtomicUsize>,
    /// Connections numbered below this are silently dead ([`FaultProxy::drop_open_connections`]).
    dead_below: Arc<AtomicUsize>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16) -> Self {
        let fault = Arc::new(Mutex::new(Fault::None));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = fault.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        let dead_below = Arc::new(AtomicUsize::new(0));
        let dead = dead_below.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    let number = accepted.fetch_add(1, Ordering::SeqCst);
                    let cut = Cut {
                        number,
                        dead_below: dead.clone(),
                    };
                    tokio::spawn(relay(client, upstream_port, shared.clone(), cut));
                }
            });
        });
        Self {
            port,
            fault,
            connections,
            dead_below,
        }
    }

    /// Every connection open now goes silent for good, with no FIN or RST, as when a NAT or a
    /// VPC interface forgets an idle flow; connections opened after this work.
    pub fn drop_open_connections(&self) {
        self.dead_below
            .store(self.connections.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// How many connections clients have opened through the proxy so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

/// A connection's place in the order of arrival, checked against the silent cut-off.
#[derive(Clone)]
struct Cut {
    number: usize,
    dead_below: Arc<AtomicUsize>,
}

impl Cut {
    fn dead(&self) -> bool {
        self.number < self.dead_below.load(Ordering::SeqCst)
    }
}

async fn relay(client: TcpStream, upstream_port: u16, fault: Arc<Mutex<Fault>>, cut: Cut) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    // Chunks are passed on as they come; Nagle's algorithm would hold small ones back until
    // the peer's delayed ACK (40 ms), a stall no real network adds.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(
        client_read,
        server_write,
        fault.clone(),
        Direction::Request,
        cut.clone(),
    );
    let down = pump(server_read, client_write, fault, Direction::Response, cut);
    // Either side ending ends the connection, as a dead peer would.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Request,
    Response,
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    fault: Arc<Mutex<Fault>>,
    direction: Direction,
    cut: Cut,
) {
    // The reader decides each chunk's fate and when it is due; the writer passes chunks on,
    // in order, when they are due. Chunks queued before a fault still arrive.
    let (queue, mut due) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cut.dead() {
                continue;
            }
            let current = *fault.lock().unwrap();
            let at = match current {
                Fault::Rewrite(from, to) if direction == Direction::Response => {
                    assert_eq!(from.len(), to.len(), "a rewrite keeps lengths");
                    replace_all(&mut buffer[..n], from, to);
                    Instant::now()
                }
                Fault::DropResponseTo(pattern) if direction == Direction::Request => {
                    if buffer[..n].windows(pattern.len()).any(|w| w == pattern) {
                        *fault.lock().unwrap() = Fault::DropNextResponse;
                    }
                    Instant::now()
                }
                Fault::None | Fault::Rewrite(..) | Fault::DropResponseTo(_) => Instant::now(),
                Fault::Delay(delay) => {
                    tokio::time::sleep(delay).await;
                    Instant::now()
                }
                Fault::Latency(latency) => Instant::now() + latency,
                Fault::Blackhole => continue,
                Fault::DropResponses if direction == Direction::Response => return,
                Fault::DropNextResponse if direction == Direction::Response => {
                    *fault.lock().unwrap() = Fault::None;
                    return;
                }
                Fault::DropResponses | Fault::DropNextResponse => Instant::now(),
                Fault::Reset => return,
            };
            if queue.send((at, buffer[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(to);
        at = start + to.len();
    }
}
