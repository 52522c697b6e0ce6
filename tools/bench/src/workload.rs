//! The event each function gets, built from the `events/` fixtures: every invocation is one
//! that succeeds, so the figures are for the path users take.

use hyper::body::Bytes;
use serde_json::Value;
use shared::domain::User;
use testkit::TestEnv;

pub const PASSWORD: &str = "correct horse battery staple";
/// What the account row changes the password to, and back from.
const OTHER_PASSWORD: &str = "a brand new horse on a battery";

pub enum Workload {
    /// A new e-mail each time (each sign-up creates a user); `series` tells apart the rows
    /// that run sign-up against one table.
    Signup {
        series: usize,
        count: u64,
    },
    Signin {
        email: String,
    },
    /// One session for every request, opened at the first.
    Me {
        user: Box<User>,
        token: Option<String>,
    },
    /// A fresh session each time, opened outside the timed part.
    Signout {
        user: Box<User>,
    },
    /// One live token, asked about again and again.
    Validate {
        user: Box<User>,
        token: Option<String>,
    },
    /// A fresh session each time, opened outside the timed part: each request rotates.
    Refresh {
        user: Box<User>,
    },
    /// A user of its own with two sessions, listed again and again.
    Sessions {
        token: Option<String>,
    },
    Hello,
    /// `GET /.well-known/jwks.json`: the published keys, read from Secrets Manager with the
    /// first request, then served from memory.
    Discovery,
    /// `GET /hello` with the claims API Gateway's JWT authorizer passes.
    Example,
    /// One Secrets Manager rotation step on a set that is current already: the function's
    /// init and its Secrets Manager round trip, not RSA key generation (a rotation makes at
    /// most two keys every 90 days).
    Rotation {
        event: Value,
    },
    /// `POST /email/verify/resend` (email) or `POST /password/forgot` (password) for a new
    /// address each time: the quota read and the request's transaction (the same work for
    /// any address).
    Resend {
        fixture: &'static str,
        series: usize,
        count: usize,
    },
    /// `POST /password/change` behind the authorizer (its claims in the event), from the
    /// password in force to the other one and back: a session check, a lock reservation, two
    /// argon2 runs (the current password, the new hash) and the change's transaction.
    Change {
        token: Option<String>,
        count: usize,
    },
    /// One stream batch with one request for the seeded (unverified) user: the account and
    /// profile reads, SES's SendEmail (moto) and the code's write.
    Mail {
        event: Value,
    },
}

/// The bench's sender, created as an identity in moto's SES.
pub const MAIL_FROM: &str = "bench-sender@example.com";

impl Workload {
    /// What `binary` gets; `series` tells apart sign-up rows, `user` is the seeded account,
    /// `rotation` the event of the key rotation's row.
    pub fn new(binary: &str, series: usize, user: &User, rotation: &Value) -> Self {
        match binary {
            "hello" => Workload::Hello,
            "discovery" => Workload::Discovery,
            "example" => Workload::Example,
            "rotate-keys" => Workload::Rotation {
                event: rotation.clone(),
            },
            "signup" => Workload::Signup { series, count: 0 },
            "signin" => Workload::Signin {
                email: user.email.to_string(),
            },
            "me" => Workload::Me {
                user: Box::new(user.clone()),
                token: None,
            },
            "validate" => Workload::Validate {
                user: Box::new(user.clone()),
                token: None,
            },
            "refresh" => Workload::Refresh {
                user: Box::new(user.clone()),
            },
            "sessions" => Workload::Sessions { token: None },
            "email" => Workload::Resend {
                fixture: "email-resend",
                series,
                count: 0,
            },
            "password" => Workload::Resend {
                fixture: "password-forgot",
                series,
                count: 0,
            },
            "account" => Workload::Change {
                token: None,
                count: 0,
            },
            "mailer" => Workload::Mail {
                event: serde_json::json!({"Records": [{
                    "eventName": "INSERT",
                    "eventSource": "aws:dynamodb",
                    "dynamodb": {
                        "Keys": {"pk": {"S": "MAIL#bench"}},
                        "NewImage": {
                            "pk": {"S": "MAIL#bench"},
                            "purpose": {"S": "verify"},
                            "email": {"S": user.email.to_string()},
                        },
                        "StreamViewType": "NEW_IMAGE",
                    },
                }]}),
            },
            _ => Workload::Signout {
                user: Box::new(user.clone()),
            },
        }
    }

    pub fn expected_status(&self) -> Option<u64> {
        match self {
            Workload::Signup { .. } => Some(201),
            Workload::Signin { .. }
            | Workload::Me { .. }
            | Workload::Validate { .. }
            | Workload::Refresh { .. }
            | Workload::Sessions { .. }
            | Workload::Discovery
            | Workload::Example => Some(200),
            Workload::Signout { .. } | Workload::Change { .. } => Some(204),
            Workload::Resend { .. } => Some(202),
            Workload::Hello | Workload::Rotation { .. } | Workload::Mail { .. } => None,
        }
    }

    /// What a 200 must also say: a token validation that found the token dead measured
    /// the wrong path.
    pub fn check_body(&self, body: &str) -> Result<(), String> {
        match self {
            Workload::Validate { .. } if !body.contains(r#""active":true"#) => {
                Err(format!("the token is not active: {body}"))
            }
            Workload::Sessions { .. } if body.matches(r#""id""#).count() != 2 => {
                Err(format!("not the two sessions: {body}"))
            }
            Workload::Discovery if !body.contains(r#""kty":"RSA""#) => {
                Err(format!("not the key set: {body}"))
            }
            Workload::Mail { .. } if !body.contains(r#""sent":1"#) => {
                Err(format!("the code was not sent: {body}"))
            }
            _ => Ok(()),
        }
    }

    pub async fn next(&mut self, env: &TestEnv) -> Result<Bytes, String> {
        let event = match self {
            Workload::Signup { series, count } => {
                *count += 1;
                let pid = std::process::id();
                let email = format!("bench-{pid}-{series}-{count}@example.com");
                with_body(fixture("signup")?, |body| body["email"] = email.into())
            }
            Workload::Signin { email } => with_body(fixture("signin")?, |body| {
                body["email"] = email.as_str().into();
                body["password"] = PASSWORD.into();
            }),
            Workload::Me { user, token } => {
                if token.is_none() {
                    *token = Some(env.token_for(user).await);
                }
                authorized(fixture("me")?, token.as_deref().unwrap_or_default())
            }
            Workload::Signout { user } => {
                let token = env
                    .app
                    .open_session(user, shared::session::ClientInfo::default())
                    .await
                    .map_err(|e| e.to_string())?;
                authorized(fixture("signout")?, &token.token)
            }
            Workload::Validate { user, token } => {
                if token.is_none() {
                    *token = Some(env.token_for(user).await);
                }
                let token = token.clone().unwrap_or_default();
                with_body(fixture("validate")?, |body| body["token"] = token.into())
            }
            Workload::Refresh { user } => {
                let pair = env
                    .app
                    .open_session(user, shared::session::ClientInfo::default())
                    .await
                    .map_err(|e| e.to_string())?;
                with_body(fixture("refresh")?, |body| {
                    body["refresh_token"] = pair.refresh_token.into()
                })
            }
            Workload::Sessions { token } => {
                if token.is_none() {
                    let email = format!("bench-devices-{}@example.com", std::process::id());
                    let owner = env.seed_user(&email, PASSWORD).await;
                    *token = Some(env.token_for(&owner).await);
                }
                authorized(fixture("sessions")?, token.as_deref().unwrap_or_default())
            }
            Workload::Change { token, count } => {
                if token.is_none() {
                    let email = format!("bench-account-{}@example.com", std::process::id());
                    let owner = env.seed_user(&email, PASSWORD).await;
                    *token = Some(env.token_for(&owner).await);
                }
                let token = token.clone().unwrap_or_default();
                let (current, new) = if *count % 2 == 0 {
                    (PASSWORD, OTHER_PASSWORD)
                } else {
                    (OTHER_PASSWORD, PASSWORD)
                };
                *count += 1;
                let event = with_body(fixture("account-change")?, |body| {
                    body["current_password"] = current.into();
                    body["new_password"] = new.into();
                })?;
                with_claims(event, &token)
            }
            Workload::Hello => Ok(serde_json::json!({"hello": "world"})),
            Workload::Discovery => fixture("discovery-jwks"),
            Workload::Example => fixture("example-hello"),
            Workload::Rotation { event } => Ok(event.clone()),
            Workload::Mail { event } => Ok(event.clone()),
            Workload::Resend {
                fixture: name,
                series,
                count,
            } => {
                *count += 1;
                let pid = std::process::id();
                let email = format!("bench-{name}-{pid}-{series}-{count}@example.com");
                with_body(fixture(name)?, |body| body["email"] = email.into())
            }
        }?;
        Ok(Bytes::from(event.to_string()))
    }
}

fn fixture(name: &str) -> Result<Value, String> {
    let path = testkit::root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn with_body(mut event: Value, edit: impl FnOnce(&mut Value)) -> Result<Value, String> {
    let text = event["body"].as_str().unwrap_or("{}");
    let mut body: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    edit(&mut body);
    event["body"] = body.to_string().into();
    Ok(event)
}

/// The event API Gateway's JWT authorizer passes on for `token`: its claims, as strings.
fn with_claims(event: Value, token: &str) -> Result<Value, String> {
    let mut event = authorized(event, token)?;
    event["requestContext"]["authorizer"] =
        serde_json::json!({"jwt": {"claims": testkit::authorizer_claims(token)}});
    Ok(event)
}

fn authorized(mut event: Value, token: &str) -> Result<Value, String> {
    event["headers"]["authorization"] = format!("Bearer {token}").into();
    Ok(event)
}
