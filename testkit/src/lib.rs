//! Test helpers. A real `moto_server` is started on a free loopback port once per test binary
//! and killed with it; each test gets its own table, created with template.yaml's key schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod moto;

use std::path::PathBuf;

use lambda_http::http::header::{HeaderName, HeaderValue};
use lambda_http::{Body, Request, Response};
use shared::config::Config;
use shared::domain::{Email, Password, PersonName, Timestamp, User, UserId};
use shared::store::{DynamoUserStore, UserStore};
use shared::App;

pub const TEST_SECRET: &str = "testkit-secret-that-is-long-enough-for-hs256";

/// The repository root (where `events/` and `template.yaml` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn config(table: &str) -> Config {
    let table = table.to_owned();
    Config::from_vars(
        move |name| match name {
            "TABLE_NAME" => Some(table.clone()),
            "TOKEN_ISSUER" => Some("testkit".to_owned()),
            _ => None,
        },
        TEST_SECRET.as_bytes().to_vec(),
    )
    .unwrap()
}

/// An app wired to a fresh table on the shared moto server, with direct access to the table
/// for assertions the API cannot make (e.g. that no half-written user was left behind).
pub struct TestEnv {
    pub app: App<DynamoUserStore>,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub async fn env() -> TestEnv {
    let (client, table) = moto::fresh_table().await;
    TestEnv {
        app: App::new(
            DynamoUserStore::new(client.clone(), &table),
            &config(&table),
        ),
        client,
        table,
    }
}

impl TestEnv {
    /// Every item key in the table (a Scan: tests only, never on a request path).
    pub async fn keys(&self) -> Vec<String> {
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = output
            .items()
            .iter()
            .map(|item| item["pk"].as_s().unwrap().clone())
            .collect();
        keys.sort();
        keys
    }

    /// Stores a user the way sign-up does, for tests of the other functions.
    pub async fn seed_user(&self, email: &str, password: &str) -> User {
        let now = Timestamp::now();
        let user = User {
            id: UserId::random(),
            email: Email::parse(email).unwrap(),
            first_name: PersonName::parse("Seeded").unwrap(),
            last_name: PersonName::parse("User").unwrap(),
            phones: vec![],
            created_at: now,
            last_login: now,
        };
        let digest = self
            .app
            .hasher
            .hash(Password::for_signin(password).unwrap())
            .await
            .unwrap();
        self.app.store.create(&user, &digest).await.unwrap();
        user
    }

    pub fn token_for(&self, user: &User) -> String {
        self.app.tokens.issue(user).unwrap().token
    }
}

/// Signs arbitrary claims with the test key (HS256), for expiry and claim tests.
pub fn forge_token(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap()
}

/// Seconds since the epoch, for forged claims.
pub fn now_unix() -> i64 {
    Timestamp::now().unix()
}

/// Loads `events/<name>.json`, the same file `sam local invoke -e` uses.
pub fn event(name: &str) -> Request {
    let path = root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Replaces a header of a fixture (e.g. a real token in `Authorization`).
pub fn with_header(mut request: Request, name: &'static str, value: &str) -> Request {
    request.headers_mut().insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    );
    request
}

/// Replaces the body of a fixture.
pub fn with_body(mut request: Request, body: &str) -> Request {
    *request.body_mut() = Body::Text(body.to_owned());
    request
}

/// The status and JSON body of a response; also checks every response is JSON.
pub fn json(response: &Response<Body>) -> (u16, serde_json::Value) {
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every response is JSON"
    );
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        Body::Empty => serde_json::Value::Null,
        Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap(),
        _ => unreachable!(),
    };
    (response.status().as_u16(), body)
}

/// Asserts an error response: status, exact message and code.
pub fn assert_error(response: &Response<Body>, status: u16, message: &str, code: u16) {
    let (got_status, body) = json(response);
    assert_eq!(got_status, status, "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
}

/// A unique, valid e-mail for one test.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// An app whose DynamoDB endpoint is a closed loopback port: every store call fails the way an
/// outage does.
pub async fn unreachable_app() -> App<DynamoUserStore> {
    let dead = format!("http://127.0.0.1:{}", moto::free_port());
    let client = moto::client(&dead).await;
    App::new(DynamoUserStore::new(client, "users"), &config("users"))
}
