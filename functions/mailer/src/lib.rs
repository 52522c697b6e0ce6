//! The mailer: for each message request the table's stream delivers, finds the account,
//! makes the code, has SES send it and only then stores the code's digest. A request for an
//! address with no account (or, for a verification, one already verified) sends nothing; a
//! password reset goes to any account. A send SES refuses stores nothing, so no code exists
//! that its owner never received (they can ask again).

pub mod event;
pub mod message;

use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use serde::Serialize;
use shared::code::{OneTimeCode, Purpose};
use shared::config::{self, ConfigError};
use shared::domain::{Email, Timestamp};
use shared::error::ErrorChain;
use shared::store::{DynamoUserStore, MailStore, UserStore};

use event::MailRequest;

pub struct Mailer<S = DynamoUserStore> {
    pub store: S,
    pub ses: Ses,
    /// The verified SES identity's address every message is sent from (`MAIL_FROM`).
    pub from: Email,
    /// `CODE_TTL_SECONDS`: a shorter life than the purpose's, for tests.
    pub lifetime: Option<Duration>,
}

/// What one invocation did, returned to the stream (and read by `make dev`'s tests).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub sent: usize,
    /// Records that were not requests, and requests for no account or a verified one.
    pub skipped: usize,
    pub failed: usize,
}

enum Outcome {
    Sent,
    Skipped,
    Failed,
}

impl Mailer {
    pub fn from_env() -> Result<Self, ConfigError> {
        let aws = config::aws()?;
        let table = config::env_var("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let from = config::env_var("MAIL_FROM").ok_or(ConfigError::Missing("MAIL_FROM"))?;
        let from = Email::parse(&from).map_err(|_| ConfigError::Invalid {
            name: "MAIL_FROM",
            reason: "is not an e-mail address".to_owned(),
        })?;
        let lifetime = match config::env_var("CODE_TTL_SECONDS") {
            None => None,
            Some(raw) => match raw.parse::<u64>() {
                Ok(seconds @ 1..=3600) => Some(Duration::from_secs(seconds)),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "CODE_TTL_SECONDS",
                        reason: "must be a whole number of seconds from 1 to 3600".to_owned(),
                    })
                }
            },
        };
        Ok(Self {
            store: DynamoUserStore::lazy(&aws, table),
            ses: Ses::Lazy {
                aws: Box::new(aws),
                client: std::sync::OnceLock::new(),
            },
            from,
            lifetime,
        })
    }
}

/// The SES v2 client, or what to build it from: built by the first message, so init pays
/// for nothing a batch of requests for unknown addresses never needs.
pub enum Ses {
    Ready(aws_sdk_sesv2::Client),
    Lazy {
        aws: Box<aws_config::SdkConfig>,
        client: std::sync::OnceLock<aws_sdk_sesv2::Client>,
    },
}

impl Ses {
    fn client(&self) -> &aws_sdk_sesv2::Client {
        match self {
            Ses::Ready(client) => client,
            Ses::Lazy { aws, client } => client.get_or_init(|| ses(aws)),
        }
    }
}

/// The SES v2 client; `AWS_ENDPOINT_URL_SESV2` (or `AWS_ENDPOINT_URL`) points it at moto.
pub fn ses(aws: &aws_config::SdkConfig) -> aws_sdk_sesv2::Client {
    let mut builder = aws_sdk_sesv2::config::Builder::from(aws);
    builder.set_endpoint_url(config::endpoint_url(|n| std::env::var(n).ok(), "SESV2"));
    aws_sdk_sesv2::Client::from_conf(builder.build())
}

impl<S: UserStore + MailStore> Mailer<S> {
    /// Requests are independent: one failing is logged and the others still go out. The
    /// invocation itself never fails, so the stream never redelivers a batch (and no one
    /// gets the same kind of message twice); a user whose message failed asks again.
    pub async fn handle(&self, event: &serde_json::Value) -> Summary {
        let batch = event::parse(event);
        let mut summary = Summary {
            skipped: batch.skipped,
            ..Summary::default()
        };
        for request in &batch.requests {
            match self.deliver(request).await {
                Outcome::Sent => summary.sent += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Failed => summary.failed += 1,
            }
        }
        tracing::info!(
            sent = summary.sent,
            skipped = summary.skipped,
            failed = summary.failed,
            "mail batch done"
        );
        summary
    }

    async fn deliver(&self, request: &MailRequest) -> Outcome {
        let purpose = request.purpose.as_str();
        let user = match self.store.credentials(&request.email).await {
            Ok(Some(found)) => found.user_id,
            Ok(None) => return Outcome::Skipped,
            Err(err) => {
                tracing::error!(purpose, error = %ErrorChain(&err), "mail request: account lookup failed");
                return Outcome::Failed;
            }
        };
        if request.purpose == Purpose::VerifyEmail {
            match self.store.get(user).await {
                Ok(Some(profile)) if !profile.email_verified.is_verified() => {}
                Ok(_) => return Outcome::Skipped,
                Err(err) => {
                    tracing::error!(%user, purpose, error = %ErrorChain(&err), "mail request: profile read failed");
                    return Outcome::Failed;
                }
            }
        }
        let code = match OneTimeCode::generate(request.purpose) {
            Ok(code) => code,
            Err(_) => {
                tracing::error!(%user, purpose, "no randomness for a code");
                return Outcome::Failed;
            }
        };
        let lifetime = self.lifetime.unwrap_or(request.purpose.lifetime());
        let minutes = lifetime.as_secs().div_ceil(60);
        let written = message::compose(request.purpose, &code, minutes);
        if let Err(err) = self.send(&request.email, written).await {
            tracing::error!(%user, purpose, error = %err, "SES did not take the message; no code stored");
            return Outcome::Failed;
        }
        let valid_until = Timestamp::from_unix_millis(
            Timestamp::now().unix_millis() + i64::try_from(lifetime.as_millis()).unwrap_or(0),
        )
        .unwrap_or_else(Timestamp::now);
        let digest = code.digest(request.purpose, user);
        match self
            .store
            .put_code(request.purpose, user, &digest, valid_until)
            .await
        {
            Ok(()) => {
                tracing::info!(%user, purpose, "code sent");
                Outcome::Sent
            }
            Err(err) => {
                // Sent but not stored: it will not work, and the user can ask again.
                tracing::error!(%user, purpose, error = %ErrorChain(&err), "code sent but not stored");
                Outcome::Failed
            }
        }
    }

    async fn send(&self, to: &Email, written: message::Message) -> Result<(), String> {
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|err| err.to_string())
        };
        let message = Message::builder()
            .subject(text(written.subject)?)
            .body(
                Body::builder()
                    .text(text(&written.text)?)
                    .html(text(&written.html)?)
                    .build(),
            )
            .build();
        self.ses
            .client()
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|err| describe(&err))
    }
}

/// An SES failure for the log: its code and message, never the request (it holds the code).
fn describe<E, R>(err: &aws_sdk_sesv2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata,
{
    use aws_sdk_sesv2::error::SdkError;
    match err {
        SdkError::ServiceError(ctx) => format!(
            "{}: {}",
            ctx.err().code().unwrap_or("unknown"),
            ctx.err().message().unwrap_or("no message")
        ),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(_) => "could not reach SES".to_owned(),
        SdkError::ResponseError(_) => "unreadable answer from SES".to_owned(),
        _ => "the request could not be built".to_owned(),
    }
}
