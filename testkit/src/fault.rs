//! A TCP proxy between the code under test and a real server, for injecting network faults the
//! server itself cannot produce on demand: a stall, a partition, a connection cut after the
//! server has acted on the request.
//!
//! The mode is read for every chunk, so it also hits connections the client already pooled.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Bytes flow both ways untouched.
    None,
    /// Every chunk waits this long before it is passed on: a slow back-end.
    Delay(Duration),
    /// Requests are swallowed and nothing ever comes back: a partition without resets.
    Blackhole,
    /// Requests reach the server, but its answers are dropped and the connection closed: the
    /// server may have committed what the client will see as a failure.
    DropResponses,
    /// Connections are closed as soon as they carry anything: a server that went away.
    Reset,
}

/// Listens on a free loopback port and forwards to `upstream` under the current [`Fault`].
/// Runs on its own thread and runtime, so it keeps serving whatever the test's runtime does.
pub struct FaultProxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16) -> Self {
        let fault = Arc::new(Mutex::new(Fault::None));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = fault.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, upstream_port, shared.clone()));
                }
            });
        });
        Self { port, fault }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

async fn relay(client: TcpStream, upstream_port: u16, fault: Arc<Mutex<Fault>>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, fault.clone(), Direction::Request);
    let down = pump(server_read, client_write, fault, Direction::Response);
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
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let current = *fault.lock().unwrap();
        match current {
            Fault::None => {}
            Fault::Delay(delay) => tokio::time::sleep(delay).await,
            Fault::Blackhole => continue,
            Fault::DropResponses if direction == Direction::Response => return,
            Fault::DropResponses => {}
            Fault::Reset => return,
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
