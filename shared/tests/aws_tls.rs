#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The SDK clients trust Amazon Trust Services' roots, not the system store, and
//! `AWS_CA_BUNDLE` replaces those roots. Runs the production client setup
//! (`shared::config::aws`) against moto served over HTTPS with a certificate from a test CA
//! that the system store is told to trust. Its own test binary: it sets process-wide variables.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use shared::config;
use testkit::moto::{free_port, start_with};
use testkit::tls::TestCa;

async fn list_tables() -> Result<(), String> {
    let aws = config::aws().map_err(|err| err.to_string())?;
    config::dynamodb(&aws)
        .list_tables()
        .send()
        .await
        .map(drop)
        .map_err(|err| DisplayErrorContext(err).to_string())
}

#[tokio::test]
async fn only_amazon_roots_are_trusted_unless_aws_ca_bundle_names_others() {
    let ca = TestCa::new();
    let port = free_port();
    let mut moto = start_with(
        port,
        &[
            "--tls-cert",
            &ca.server_cert(),
            "--tls-key",
            &ca.server_key(),
        ],
    );
    // SAFETY of the environment: this binary has this one test, and nothing else reads it.
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        // The system store would trust the test CA: the clients must not consult it.
        ("SSL_CERT_FILE", ca.ca().as_str()),
    ] {
        std::env::set_var(name, value);
    }
    let endpoint = |host: &str| {
        std::env::set_var(
            "AWS_ENDPOINT_URL_DYNAMODB",
            format!("https://{host}:{port}"),
        )
    };

    endpoint("localhost");
    let refused = list_tables()
        .await
        .expect_err("the test CA is not an Amazon root");
    assert!(refused.contains("UnknownIssuer"), "{refused}");

    std::env::set_var("AWS_CA_BUNDLE", ca.ca());
    list_tables()
        .await
        .expect("AWS_CA_BUNDLE names the test CA");

    // Still verified: the certificate names localhost, not 127.0.0.1.
    endpoint("127.0.0.1");
    let mismatch = list_tables().await.expect_err("the name does not match");
    assert!(mismatch.contains("NotValidForName"), "{mismatch}");

    std::env::set_var("AWS_CA_BUNDLE", ca.server_key());
    let refused = list_tables()
        .await
        .expect_err("a key is no certificate bundle");
    assert!(refused.contains("AWS_CA_BUNDLE"), "{refused}");

    let _ = moto.kill();
    let _ = moto.wait();
}
