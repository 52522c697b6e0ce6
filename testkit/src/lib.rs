//! Test helpers. A real `moto_server` is started on a free loopback port once per test binary
//! and killed with it; each test gets its own table, created with template.yaml's key schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fault;
pub mod fuzz;
pub mod logs;
pub mod moto;
pub mod redis;
pub mod tls;

use std::path::PathBuf;
use std::sync::OnceLock;

use lambda_http::http::header::{HeaderName, HeaderValue};
use lambda_http::{Body, Request, Response};
use shared::config::Config;
use shared::domain::{Email, Password, PersonName, Timestamp, User, UserId};
use shared::lockout::Lockout;
use shared::password::PasswordHasher;
use shared::session::ClientInfo;
use shared::session::RefreshKeys;
use shared::store::{DynamoUserStore, SessionStore, UserStore};
use shared::token::document::KeyDocument;
use shared::token::jwks::PublishedKeys;
use shared::token::keyset::{KeySet, Role, StoredKey, StoredSet};
use shared::token::rs256::SigningKey;
use shared::token::TokenKeys;
use shared::App;

/// The refresh-token key of every test app.
pub const TEST_SECRET: &str = "testkit-refresh-secret-that-is-long-enough";

/// The repository root (where `events/` and `template.yaml` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The configuration the tests run with: `overrides` are environment variables on top of a
/// table, the shared test Redis and the test key.
pub fn config(table: &str, redis_url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut vars: std::collections::HashMap<String, String> = [
        ("TABLE_NAME", table),
        ("REDIS_URL", redis_url),
        ("TOKEN_ISSUER", "testkit"),
    ]
    .iter()
    .chain(overrides)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.retain(|_, v| !v.is_empty());
    Config::from_vars(move |name| vars.get(name).cloned()).unwrap()
}

/// The test signing key, made once per test process (`openssl genpkey`: no private key is
/// kept in the repository).
pub fn test_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| rsa_private_key(2048))
}

/// The stored key set of `pems`, the first active, the others `role`s as given.
pub fn stored_set(keys: &[(Role, &str)]) -> String {
    serde_json::to_string(&StoredSet {
        keys: keys
            .iter()
            .map(|(role, pem)| StoredKey {
                role: *role,
                created: 1_700_000_000,
                pem: (*pem).to_owned(),
            })
            .collect(),
    })
    .unwrap()
}

/// The test key set: one active key, [`test_key_pem`].
pub fn test_key_set() -> KeySet {
    KeySet::parse(&stored_set(&[(Role::Active, test_key_pem())])).unwrap()
}

/// What every test app signs and verifies with: the test key set and [`TEST_SECRET`].
pub fn token_keys() -> TokenKeys {
    TokenKeys::Sign {
        keys: KeyDocument::fixed(test_key_set()),
        refresh: KeyDocument::fixed(RefreshKeys::derive(TEST_SECRET.as_bytes())),
    }
}

/// [`env`], with a signing key set that cannot be read (Secrets Manager on a closed port):
/// the refresh-token key works, nothing can be signed.
pub async fn env_without_signing_keys() -> TestEnv {
    let mut env = env().await;
    let nowhere = format!("http://127.0.0.1:{}", moto::free_port());
    let keys = KeyDocument::secret(
        moto::secrets_client(&nowhere).await,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone".to_owned(),
        shared::token::document::MAX_AGE,
        |text| KeySet::parse(text).map_err(|err| err.to_string()),
    );
    let redis_url = env.redis.as_ref().map(|r| r.url()).unwrap_or_default();
    env.app.tokens = shared::token::TokenService::new(
        &config(&env.table, &redis_url, &[]).tokens,
        TokenKeys::Sign {
            keys,
            refresh: KeyDocument::fixed(RefreshKeys::derive(TEST_SECRET.as_bytes())),
        },
    );
    env
}

/// Verification only, against `published`: what `/me` and the other verifiers hold.
pub fn verify_keys(published: PublishedKeys) -> TokenKeys {
    TokenKeys::Verify(KeyDocument::fixed(published))
}

/// Sign-in's locks under `overrides`, as [`config`] reads the rest.
pub fn lockout(overrides: &[(&str, &str)]) -> Lockout {
    shared::config::lockout(|name| {
        overrides
            .iter()
            .find(|(key, value)| *key == name && !value.is_empty())
            .map(|(_, value)| value.to_string())
    })
    .unwrap()
}

/// An app wired to a fresh table on the shared moto server, with direct access to the table
/// for assertions the API cannot make (e.g. that no half-written user was left behind).
pub struct TestEnv {
    pub app: App<DynamoUserStore>,
    /// What sign-up and sign-in build beside the app (their main.rs).
    pub hasher: PasswordHasher,
    pub lockout: Lockout,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    /// The test's own redis-server, when it has one; stopped with the environment.
    pub redis: Option<redis::RedisServer>,
}

/// A fresh table and a redis-server of its own: fixtures reuse e-mails and addresses, so
/// lock and rate-limit state must not leak between tests.
pub async fn env() -> TestEnv {
    let server = redis::RedisServer::start();
    let mut env = env_with(&server.url(), &[]).await;
    env.redis = Some(server);
    env
}

/// A test environment on a Redis of the caller's choice and with extra settings.
pub async fn env_with(redis_url: &str, overrides: &[(&str, &str)]) -> TestEnv {
    let (client, table) = moto::fresh_table().await;
    let config = config(&table, redis_url, overrides);
    TestEnv {
        app: App::new(
            DynamoUserStore::new(client.clone(), &table),
            &config,
            token_keys(),
        )
        .unwrap(),
        hasher: PasswordHasher::new(),
        lockout: lockout(overrides),
        client,
        table,
        redis: None,
    }
}

/// A test environment whose app reaches DynamoDB and Redis through fault proxies, with
/// production's SDK retries and timeouts; `env.client` and `env.keys()` go around the proxies.
pub struct FaultyEnv {
    pub env: TestEnv,
    pub dynamodb: fault::FaultProxy,
    pub redis: fault::FaultProxy,
}

pub async fn env_with_faults() -> FaultyEnv {
    env_with_faults_and(&[]).await
}

/// [`env_with_faults`] with extra settings.
pub async fn env_with_faults_and(overrides: &[(&str, &str)]) -> FaultyEnv {
    let server = redis::RedisServer::start();
    let redis = fault::FaultProxy::start(server.port);
    let dynamodb = fault::FaultProxy::start(moto::server().port);
    let (client, table) = moto::fresh_table().await;
    let config = config(&table, &redis.url("redis"), overrides);
    let store = DynamoUserStore::new(moto::production_client(&dynamodb.url("http")).await, &table);
    FaultyEnv {
        env: TestEnv {
            app: App::new(store, &config, token_keys()).unwrap(),
            hasher: PasswordHasher::new(),
            lockout: lockout(overrides),
            client,
            table,
            redis: Some(server),
        },
        dynamodb,
        redis,
    }
}

impl TestEnv {
    /// Asserts that every profile has its credential record and every credential record its
    /// profile, and that no session belongs to a user who is not stored: no half-written user,
    /// whatever failed in between.
    pub async fn assert_no_partial_user(&self) {
        let items = self.items().await;
        let profiles: std::collections::BTreeSet<String> = items
            .iter()
            .filter(|item| item["pk"].as_s().unwrap().starts_with("USER#"))
            .map(|item| item["pk"].as_s().unwrap()[5..].to_owned())
            .collect();
        let owners: std::collections::BTreeSet<String> = items
            .iter()
            .filter(|item| item["pk"].as_s().unwrap().starts_with("EMAIL#"))
            .map(|item| item["userId"].as_s().unwrap().clone())
            .collect();
        assert_eq!(profiles, owners, "profiles and credential records disagree");
        let sessions: std::collections::BTreeSet<String> = items
            .iter()
            .filter(|item| item["pk"].as_s().unwrap().starts_with("SESSION#"))
            .map(|item| item["userId"].as_s().unwrap().clone())
            .collect();
        assert!(
            sessions.is_subset(&profiles),
            "a session of a user who was never stored"
        );
    }

    /// Every item in the table (a Scan: tests only, never on a request path).
    pub async fn items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        output.items().to_vec()
    }

    /// The sign-in attempts counted on `email`'s lock record (0 when it has none).
    pub async fn lock_failures(&self, email: &str) -> u64 {
        let key = format!("LOCK#{}", Email::parse(email).unwrap());
        self.items()
            .await
            .iter()
            .find(|item| item["pk"].as_s().unwrap() == &key)
            .map_or(0, |item| item["failures"].as_n().unwrap().parse().unwrap())
    }

    /// Every item key in the table, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .items()
            .await
            .iter()
            .map(|item| item["pk"].as_s().unwrap().clone())
            .collect();
        keys.sort();
        keys
    }

    /// Stores a user the way sign-up does, for tests of the other functions.
    pub async fn seed_user(&self, email: &str, password: &str) -> User {
        let user = user(email);
        self.store_user(&user, password).await;
        user
    }

    /// Stores `user` with `password` the way sign-up does (its first session and the request
    /// for its verification message included).
    pub async fn store_user(&self, user: &User, password: &str) {
        let digest = self
            .hasher
            .hash(Password::for_signin(password).unwrap())
            .await
            .unwrap();
        let opening = self
            .app
            .new_session(user.id, ClientInfo::default())
            .await
            .unwrap();
        self.app
            .store
            .create(user, &digest, opening.new_session())
            .await
            .unwrap();
    }

    /// The same Redis, but a DynamoDB endpoint that is a closed port: what is answered from
    /// the cache alone still works, anything else meets an outage.
    pub async fn without_dynamodb(&self) -> App<DynamoUserStore> {
        let url = self
            .redis
            .as_ref()
            .map_or_else(|| redis::shared().url(), |r| r.url());
        unreachable_app_on(&url).await
    }

    /// Opens a session for `user`, as sign-in does, and returns its access token.
    pub async fn token_for(&self, user: &User) -> String {
        self.pair_for(user).await.token
    }

    /// Ends one live session as sign-out does (Redis, then the durable record).
    pub async fn end_session(&self, user: UserId, session: &shared::cache::SessionId) {
        assert!(self.app.end_session(user, session).await.unwrap());
    }

    /// Ends every session of `user` as `scope=all` sign-out does (without needing a token).
    pub async fn end_all_sessions(&self, user: UserId) {
        let now = Timestamp::now();
        self.app.cache.forget_all(user, now).await.unwrap();
        self.app.store.end_all_sessions(user, now).await.unwrap();
    }

    /// Opens a session for `user`, as sign-in does, and returns both its tokens.
    pub async fn pair_for(&self, user: &User) -> shared::token::IssuedToken {
        self.app
            .open_session(user, ClientInfo::default())
            .await
            .unwrap()
    }
}

/// A new user named "Seeded User" with `email`, created and last seen now; not stored.
pub fn user(email: &str) -> User {
    let now = Timestamp::now();
    User {
        id: UserId::random(),
        email: Email::parse(email).unwrap(),
        first_name: PersonName::parse("Seeded").unwrap(),
        last_name: PersonName::parse("User").unwrap(),
        phones: vec![],
        created_at: now,
        last_login: now,
        email_verified: Default::default(),
    }
}

/// Signs arbitrary claims with the test key as our tokens are signed (RS256, `typ: at+jwt`,
/// its kid), for expiry and claim tests; `aud` is the default audience unless `claims` say.
pub fn forge_token(claims: &serde_json::Value) -> String {
    let mut claims = claims.clone();
    if let Some(object) = claims.as_object_mut() {
        object
            .entry("aud")
            .or_insert(shared::config::DEFAULT_AUDIENCE.into());
    }
    let key = test_signing_key();
    sign_rs256(
        &serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid()}),
        &claims,
        key,
    )
}

/// The active key of [`test_key_set`], parsed once.
pub fn test_signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pkcs8_pem(test_key_pem()).unwrap())
}

/// Signs `claims` under any `header` with `key` (RS256), for tokens we would never issue.
pub fn sign_rs256(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    key: &SigningKey,
) -> String {
    shared::token::rs256::compact(key, header, claims).unwrap()
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

/// A fresh RSA private key of `bits`, PKCS#8 PEM, from the openssl CLI (ring cannot generate
/// RSA keys; no key is kept in the repository).
pub fn rsa_private_key(bits: u32) -> String {
    let output = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .output()
        .expect("the openssl CLI");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("PEM is ASCII")
}

/// A unique, valid e-mail for one test.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// An app whose DynamoDB endpoint is a closed loopback port: every store call fails the way an
/// outage does.
pub async fn unreachable_app() -> App<DynamoUserStore> {
    unreachable_app_on(&redis::shared().url()).await
}

async fn unreachable_app_on(redis_url: &str) -> App<DynamoUserStore> {
    let dead = format!("http://127.0.0.1:{}", moto::free_port());
    let client = moto::client(&dead).await;
    let config = config("users", redis_url, &[]);
    App::new(DynamoUserStore::new(client, "users"), &config, token_keys()).unwrap()
}

/// Loads `events/<name>.json` after letting `edit` change the raw event, for what the
/// request API cannot set (e.g. the source IP in the request context).
pub fn event_edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Request {
    let path = root().join("events").join(format!("{name}.json"));
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut value);
    lambda_http::request::from_str(&value.to_string()).unwrap()
}

/// The `/me` fixture carrying `token` as its bearer token.
pub fn me_with(token: &str) -> Request {
    with_header(event("me"), "authorization", &format!("Bearer {token}"))
}

/// A sign-in fixture from `ip` with the given credentials.
pub fn signin_from(ip: &str, email: &str, password: &str) -> Request {
    event_edited("signin", |event| {
        event["requestContext"]["http"]["sourceIp"] = ip.into();
        event["body"] = serde_json::json!({"email": email, "password": password})
            .to_string()
            .into();
    })
}

/// The `Retry-After` header of a response, in seconds.
pub fn retry_after(response: &Response<Body>) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// An app whose DynamoDB and Redis are both closed ports: anything that reaches a back-end
/// answers 503, so a 401 from it proves the request was refused before any store was asked.
pub async fn app_without_backends() -> App<DynamoUserStore> {
    unreachable_app_on(&format!("redis://127.0.0.1:{}", moto::free_port())).await
}

/// Signs `claims` under `header` with `key`, HS256, by hand: for the algorithm-confusion
/// attack (an HS256 token whose secret is a published RSA key) and other tokens a library
/// would refuse to produce.
pub fn sign_raw(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// The session `token` belongs to, read without checking it (a token the app issued).
pub fn session_of(token: &str) -> shared::cache::SessionId {
    shared::cache::SessionId::parse(claims_of(token)["sid"].as_str().unwrap()).unwrap()
}

/// The claims of `token`, read without checking it: for tests that checked it already.
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The claims of `token` as API Gateway's JWT authorizer passes them on: each a string.
pub fn authorizer_claims(token: &str) -> serde_json::Value {
    let claims: serde_json::Map<String, serde_json::Value> = claims_of(token)
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            (name.clone(), text.into())
        })
        .collect();
    claims.into()
}

/// `events/<name>.json` as API Gateway hands it on once its JWT authorizer let `token`
/// through: the token in `Authorization` and its claims in the request context (the token is
/// not checked here: API Gateway's part is played by make dev's front, tested there).
pub fn authorized(name: &str, token: &str) -> Request {
    event_edited(name, |event| {
        event["headers"]["authorization"] = format!("Bearer {token}").into();
        event["requestContext"]["authorizer"] =
            serde_json::json!({"jwt": {"claims": authorizer_claims(token), "scopes": null}});
    })
}
