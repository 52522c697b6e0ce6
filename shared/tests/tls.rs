#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The deployed data path is `rediss://` (ElastiCache Serverless only speaks TLS). This runs
//! the session code over TLS against a real redis-server with a certificate from a test CA,
//! and checks that a certificate for another name is refused. Its own test binary, because
//! the trusted CA is given through the process-wide `SSL_CERT_FILE`.

use std::process::{Command, Stdio};

use shared::cache::{Cache, CacheSettings, RateLimit, SessionId};
use testkit::moto::{free_port, spawn_tied, wait_for_port};
use testkit::tls::TestCa;

fn settings() -> CacheSettings {
    CacheSettings {
        profile_ttl_seconds: 60,
        rate_limit: RateLimit::default(),
        max_idle: std::time::Duration::from_secs(300),
    }
}

#[tokio::test]
async fn sessions_work_over_tls_and_a_wrong_certificate_is_refused() {
    let ca = TestCa::new();
    let port = free_port();
    let mut command = Command::new("redis-server");
    command
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            &ca.server_cert(),
            "--tls-key-file",
            &ca.server_key(),
        ])
        .args(["--tls-ca-cert-file", &ca.ca(), "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = spawn_tied(command, "redis-server");
    wait_for_port(port);
    // SAFETY of the environment: this binary has this one test, and nothing else reads it yet.
    std::env::set_var("SSL_CERT_FILE", ca.ca());

    let cache = Cache::connect_lazily(&format!("rediss://localhost:{port}"), settings()).unwrap();
    let user = testkit::user("tls@example.com");
    let session = SessionId::random();
    let now = shared::domain::Timestamp::now();
    assert!(cache
        .remember_session(&user, &session, now, now.unix() + 60)
        .await
        .unwrap());
    let lookup = cache.lookup(user.id, &session).await.unwrap();
    assert_eq!(lookup.state, shared::cache::SessionState::Live);
    assert!(lookup.profile.is_some());

    // The certificate names `localhost`, not 127.0.0.1: the connection must be refused.
    let wrong = Cache::connect_lazily(&format!("rediss://127.0.0.1:{port}"), settings()).unwrap();
    let refused = wrong
        .lookup(user.id, &session)
        .await
        .err()
        .expect("refused");
    let reason = shared::error::ErrorChain(&refused).to_string();
    assert!(
        reason.contains("certificate not valid for name"),
        "refused for the name, not some other failure: {reason}"
    );

    let _ = server.kill();
    let _ = server.wait();
}
