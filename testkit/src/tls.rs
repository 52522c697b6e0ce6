//! A throwaway certificate authority for the TLS tests: a CA and a server certificate for
//! `localhost` only (so `127.0.0.1` is a name mismatch), made with the openssl CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct TestCa {
    dir: PathBuf,
}

impl TestCa {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("auth-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let new_key = ["-newkey", "rsa:2048", "-nodes", "-keyout"];
        openssl(
            &dir,
            &[
                &["req", "-x509"][..],
                &new_key,
                &["ca.key", "-out", "ca.crt"],
            ]
            .concat(),
            &["-days", "1", "-subj", "/CN=auth-api test CA"],
        );
        openssl(
            &dir,
            &[
                &["req"][..],
                &new_key,
                &["server.key", "-out", "server.csr"],
            ]
            .concat(),
            &["-subj", "/CN=localhost"],
        );
        std::fs::write(dir.join("san.cnf"), "subjectAltName=DNS:localhost\n").unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
            ],
            &[
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "1",
                "-extfile",
                "san.cnf",
            ],
        );
        Self { dir }
    }

    /// The CA's certificate (PEM): what a client must trust.
    pub fn ca(&self) -> String {
        self.path("ca.crt")
    }

    /// The server's certificate (PEM), valid for `localhost`.
    pub fn server_cert(&self) -> String {
        self.path("server.crt")
    }

    pub fn server_key(&self) -> String {
        self.path("server.key")
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str], more: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .args(more)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (make test installs it)");
    assert!(status.success(), "openssl {args:?}");
}
