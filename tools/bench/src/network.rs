//! DynamoDB and Secrets Manager at a distance, for the init warm-up measured both ways:
//! moto over TLS (a test CA the functions trust through `AWS_CA_BUNDLE`), each service behind
//! its own proxy that delivers every chunk [`ONE_WAY`] after it was sent, so a TLS handshake
//! and each request cost round trips as they do between Lambda and DynamoDB, not loopback's
//! ~0. (The proxy accepts at once: the TCP handshake itself is not delayed.)

use std::process::Child;
use std::time::Duration;

use shared::domain::{Password, User};
use shared::password::PasswordHasher;
use shared::store::{DynamoUserStore, UserStore};
use testkit::fault::{Fault, FaultProxy};
use testkit::tls::TestCa;

/// Per chunk, each way: a 2 ms round trip, in the range of Lambda to DynamoDB in one region.
pub const ONE_WAY: Duration = Duration::from_millis(1);

pub struct RemoteAws {
    ca: TestCa,
    _moto: KillOnDrop,
    dynamodb: FaultProxy,
    secrets: FaultProxy,
    pub table: String,
    pub arns: crate::Secrets,
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl RemoteAws {
    /// Starts it and stores `user` (with `password`) and a JWT secret in it.
    pub async fn start(user: &User, password: &str) -> Result<Self, String> {
        let ca = TestCa::new();
        let port = testkit::moto::free_port();
        let moto = KillOnDrop(testkit::moto::start_with(
            port,
            &[
                "--tls-cert",
                &ca.server_cert(),
                "--tls-key",
                &ca.server_key(),
            ],
        ));
        let endpoint = format!("https://localhost:{port}");
        let ca_file = ca.ca();
        let aws = shared::config::aws_with(|name| match name {
            "AWS_CA_BUNDLE" => Some(ca_file.clone()),
            "AWS_REGION" => Some("us-east-1".to_owned()),
            _ => None,
        })
        .map_err(|e| e.to_string())?
        .into_builder()
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("bench", "bench", None, None, "bench"),
        ))
        .build();

        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&aws)
                .endpoint_url(&endpoint)
                .build(),
        );
        let table = "bench-remote".to_owned();
        testkit::moto::create_table(&dynamodb, &table).await;
        let password = Password::for_signin(password).map_err(str::to_owned)?;
        let digest = PasswordHasher::new()
            .hash(password)
            .await
            .map_err(|e| e.to_string())?;
        let first = shared::session::RefreshKeys::derive(&[0u8; 32])
            .first(user.id, &shared::cache::SessionId::random());
        let record = shared::session::SessionRecord::open(
            &first,
            shared::session::ClientInfo::default(),
            shared::domain::Timestamp::now(),
        );
        let session = shared::store::NewSession {
            record: &record,
            deadline: record.deadline(&shared::session::Lifetimes::default()),
        };
        DynamoUserStore::new(dynamodb, &table)
            .create(user, &digest, session)
            .await
            .map_err(|e| e.to_string())?;
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&aws)
                .endpoint_url(&endpoint)
                .build(),
        );
        let created = crate::create_secret(&secrets).await?;

        let proxy = || {
            let proxy = FaultProxy::start(port);
            proxy.set(Fault::Latency(ONE_WAY));
            proxy
        };
        Ok(Self {
            ca,
            _moto: moto,
            dynamodb: proxy(),
            secrets: proxy(),
            table,
            arns: created,
        })
    }

    /// The variables that point a function at it (besides the table and the secret's ARN).
    pub fn vars(&self) -> [(&'static str, String); 3] {
        let url = |proxy: &FaultProxy| format!("https://localhost:{}", proxy.port);
        [
            ("AWS_CA_BUNDLE", self.ca.ca()),
            ("AWS_ENDPOINT_URL_DYNAMODB", url(&self.dynamodb)),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", url(&self.secrets)),
        ]
    }
}
