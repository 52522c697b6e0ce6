//! A real `redis-server` for tests, on a free loopback port, killed with the test process.

use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::moto::{free_port, serve};

pub struct RedisServer {
    pub port: u16,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// A server of its own, for tests that stop and restart it.
    pub fn start() -> Self {
        let server = Self {
            port: free_port(),
            child: Mutex::new(None),
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (empty: nothing is persisted).
    pub fn restart(&self) {
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let mut command = Command::new(&program);
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = serve(command, &program, self.port, "redis-server");
        *self.child.lock().unwrap() = Some(child);
    }

    /// `FLUSHALL`: every key gone, as after a failover to an empty replica.
    pub fn flush_all(&self) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.write_all(b"*1\r\n$8\r\nFLUSHALL\r\n").unwrap();
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+OK\r\n");
    }

    /// Kills it, as a crash or a network partition would.
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server shared by the tests of one binary; keys are per user, e-mail or address, so
/// tests do not see each other's state.
pub fn shared() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::start)
}
