//! CPU per request, in-process (`make bench` runs it; `cargo bench -p bench --bench cpu`).
//!
//! The handlers run against a user store in a hash map and a cache whose Redis replies are
//! produced in-process (`Cache::in_process`), so what is timed is our own work: parsing the
//! API Gateway event, validation, JWT, building and packing Redis commands, parsing their
//! replies, argon2id, and the response. Nothing waits, so wall time here is CPU time.
//! Log lines are not written (no subscriber); the process bench (`bench`) includes them.
//!
//! Every benchmark checks its answer once before timing, so it cannot measure an error path.

// Like a test, a benchmark should stop loudly when its set-up is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod memory;
mod replies;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use lambda_http::{Body, Request, Response};
use shared::cache::{Cache, SessionId};
use shared::domain::{Credentials, NewUser, Password};
use shared::password::{PasswordDigest, PasswordHasher};
use shared::session::ClientInfo;
use shared::store::UserStore;
use shared::token::TokenService;
use shared::App;
use tokio::runtime::Runtime;

use memory::MemoryStore;
use replies::Profile;

const PASSWORD: &str = "correct horse battery staple";

fn runtime() -> Runtime {
    // The functions run on tokio's multi-threaded runtime (#[tokio::main]); argon2 runs on
    // its blocking pool, as in production.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn app(profile: Profile) -> App<MemoryStore> {
    let config = testkit::config("users", "redis://127.0.0.1:1", &[]);
    App {
        store: MemoryStore::default(),
        cache: Cache::in_process(replies::responder(profile), config.cache.clone())
            .expect("an in-process cache"),
        tokens: TokenService::new(&config.tokens, testkit::token_keys()),
        lifetimes: config.sessions,
    }
}

/// Stores `user` as sign-up does (with a first session); the hash is never checked here.
async fn stored(app: &App<MemoryStore>, user: &shared::domain::User) {
    let digest = PasswordDigest::from_stored("unused".to_owned());
    let session = app
        .new_session(user.id, ClientInfo::default())
        .await
        .expect("a signing app");
    app.store
        .create(user, &digest, session.new_session())
        .await
        .expect("stored");
}

/// The text of `events/<name>.json` with `edit` applied: each iteration parses it, as the
/// runtime does with every invocation.
fn event_text(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let path = testkit::root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("event fixture");
    let mut event: serde_json::Value = serde_json::from_str(&text).expect("event JSON");
    edit(&mut event);
    event.to_string()
}

fn request(event: &str) -> Request {
    lambda_http::request::from_str(event).expect("an API Gateway event")
}

fn status(response: &Response<Body>) -> u16 {
    response.status().as_u16()
}

fn body(json: serde_json::Value) -> impl FnOnce(&mut serde_json::Value) {
    move |event| event["body"] = json.to_string().into()
}

fn parsing(c: &mut Criterion) {
    let signup = request(&event_text("signup", |_| {}));
    let signin = request(&event_text("signin", |_| {}));
    let mut group = c.benchmark_group("parse");
    // JSON body → NewUser: e-mail, names, phones, and zxcvbn's password strength estimate.
    group.bench_function("signup_body", |b| {
        b.iter(|| NewUser::parse(&shared::http::json_object(black_box(&signup)).unwrap()))
    });
    group.bench_function("signin_body", |b| {
        b.iter(|| Credentials::parse(&shared::http::json_object(black_box(&signin)).unwrap()))
    });
    group.bench_function("me_event", |b| {
        let event = event_text("me", |_| {});
        b.iter(|| request(black_box(&event)))
    });
    group.finish();
}

/// Access tokens as the functions issue and check them (RS256, the key set held in memory):
/// everything but the key set's re-read every ten minutes.
fn tokens(c: &mut Criterion) {
    let runtime = runtime();
    let app = app(Profile::Missing);
    let user = testkit::user("bench@example.com");
    let session = SessionId::random();
    let token = runtime
        .block_on(app.tokens.issue(&user, &session))
        .expect("a token");
    assert!(runtime.block_on(app.tokens.verify(&token)).is_ok());
    let mut group = c.benchmark_group("jwt");
    group.bench_function("issue", |b| {
        b.to_async(&runtime)
            .iter(|| app.tokens.issue(black_box(&user), &session))
    });
    group.bench_function("verify", |b| {
        b.to_async(&runtime)
            .iter(|| app.tokens.verify(black_box(&token)))
    });
    group.finish();
}

/// RS256 on ring, below the token service: parsing the private key (once per process, at
/// init), signing an access token's worth of claims, and verifying one with jsonwebtoken's
/// checks through our provider.
fn rs256(c: &mut Criterion) {
    use jsonwebtoken::{decode, Algorithm, Validation};
    use shared::token::rs256::{compact, SigningKey};
    let pem = testkit::rsa_private_key(2048);
    let key = SigningKey::from_pkcs8_pem(&pem).expect("a key");
    // Building the token service installs our jsonwebtoken provider (RS256 verification).
    let _app = app(Profile::Missing);
    let claims = serde_json::json!({
        "sub": uuid::Uuid::new_v4().to_string(), "email": "bench@example.com",
        "firstName": "Bench", "lastName": "User", "iat": 1_764_000_000_u64,
        "exp": 4_102_444_800_u64, "iss": "bench", "aud": "bench-api", "scope": "openid",
        "jti": uuid::Uuid::new_v4().simple().to_string(), "sid": SessionId::random().as_str(),
    });
    let header = serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid()});
    let token = compact(&key, &header, &claims).expect("a token");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["bench"]);
    validation.set_audience(&["bench-api"]);
    let decoding = key.public().decoding_key();
    decode::<serde_json::Value>(&token, &decoding, &validation).expect("it verifies");
    let mut group = c.benchmark_group("rs256");
    group.bench_function("parse_key", |b| {
        b.iter(|| SigningKey::from_pkcs8_pem(black_box(&pem)))
    });
    group.bench_function("sign", |b| {
        b.iter(|| compact(&key, &header, black_box(&claims)))
    });
    group.bench_function("verify", |b| {
        b.iter(|| decode::<serde_json::Value>(black_box(&token), &decoding, &validation))
    });
    group.finish();
}

fn me(c: &mut Criterion) {
    let runtime = runtime();
    let user = testkit::user("bench@example.com");
    let profile = serde_json::to_string(&user).expect("profile JSON");
    let mut group = c.benchmark_group("me");
    for (name, app) in [
        ("cache_hit", app(Profile::Cached(profile.clone()))),
        ("cache_miss", app(Profile::Missing)),
    ] {
        runtime.block_on(stored(&app, &user));
        let token = runtime
            .block_on(app.tokens.issue(&user, &SessionId::random()))
            .expect("a token");
        let event = event_text("me", |event| {
            event["headers"]["authorization"] = format!("Bearer {token}").into();
        });
        let answer = runtime.block_on(me::handle(&app, request(&event)));
        assert_eq!(status(&answer), 200, "{name}: {:?}", answer.body());
        assert!(
            matches!(answer.body(), Body::Text(text) if text.contains(&user.email.to_string()))
        );
        // The event as API Gateway sends it → the response: everything /me does but wait.
        group.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter(|| me::handle(&app, request(black_box(&event))))
        });
    }
    group.finish();
}

/// argon2id takes ~20 ms: fewer samples, a longer window, so the sign-in / verify ratio is
/// not left to a few noisy iterations.
fn slow(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(40);
    group.measurement_time(Duration::from_secs(12));
}

/// `PASSWORD` hashed at argon2id's smallest cost (8 KiB, one pass): a sign-in against it
/// costs everything a sign-in does but argon2's work, so "sign-in minus one verify" is
/// measured directly (`handler/signin_minimal` - `argon2id/verify_minimal`) instead of as the
/// small difference of two ~20 ms medians taken at different moments.
fn minimal_digest() -> PasswordDigest {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let params = argon2::Params::new(8, 1, 1, None).expect("minimal argon2 parameters");
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::from_b64("YmVuY2gtbWluaW1hbC1zYWx0").expect("a salt");
    let phc = argon2
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("a minimal hash");
    PasswordDigest::from_stored(phc.to_string())
}

fn passwords(c: &mut Criterion) {
    let runtime = runtime();
    let hasher = PasswordHasher::new();
    let password = || Password::for_signin(PASSWORD).expect("a password");
    let digest = runtime.block_on(hasher.hash(password())).expect("a digest");
    let minimal = minimal_digest();
    for digest in [&digest, &minimal] {
        assert!(runtime
            .block_on(hasher.verify(password(), Some(digest.clone())))
            .expect("verified"));
    }
    let mut group = c.benchmark_group("argon2id");
    group.bench_function("verify_minimal", |b| {
        b.to_async(&runtime)
            .iter(|| hasher.verify(password(), Some(minimal.clone())))
    });
    slow(&mut group);
    group.bench_function("hash", |b| {
        b.to_async(&runtime).iter(|| hasher.hash(password()))
    });
    group.bench_function("verify", |b| {
        b.to_async(&runtime)
            .iter(|| hasher.verify(password(), Some(digest.clone())))
    });
    group.finish();
}

fn handlers(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("handler");

    let app = app(Profile::Missing);
    let hasher = PasswordHasher::new();
    let sign_in = signin::SignIn {
        app: &app,
        hasher: hasher.clone(),
        lockout: shared::lockout::Lockout::default(),
        require_verified: false,
    };
    let sign_up = signup::SignUp { app: &app, hasher };
    let email = "bench@example.com";
    let signup = event_text(
        "signup",
        body(serde_json::json!({
            "firstName": "Bench", "lastName": "User", "email": email, "password": PASSWORD,
            "phones": [{"number": 988887888, "area_code": 81, "country_code": "+55"}],
        })),
    );
    let signin_as = |email: &str| {
        let event = event_text(
            "signin",
            body(serde_json::json!({"email": email, "password": PASSWORD})),
        );
        let answer = runtime.block_on(signin::handle(&sign_in, request(&event)));
        assert_eq!(status(&answer), 200, "{:?}", answer.body());
        event
    };
    let minimal_email = "minimal@example.com";
    for address in [email, minimal_email] {
        let event = signup.replace(email, address);
        let answer = runtime.block_on(signup::handle(&sign_up, request(&event)));
        assert_eq!(status(&answer), 201, "{:?}", answer.body());
    }
    app.store.replace_digest(minimal_email, minimal_digest());
    let signin = signin_as(email);
    let signin_minimal = signin_as(minimal_email);

    // The same sign-in for a user whose stored hash has the minimal cost: all of sign-in's
    // work but argon2's.
    group.bench_function("signin_minimal", |b| {
        b.to_async(&runtime)
            .iter(|| signin::handle(&sign_in, request(black_box(&signin_minimal))))
    });

    slow(&mut group);
    // A successful sign-in: parse, admit, read credentials, one argon2id verify, record the
    // login, open a session, issue a token.
    group.bench_function("signin", |b| {
        b.to_async(&runtime)
            .iter(|| signin::handle(&sign_in, request(black_box(&signin))))
    });

    // Each sign-up a new e-mail: parse (with zxcvbn), admit, one argon2id hash, store, session.
    let mut count = 0u64;
    group.bench_function("signup", |b| {
        b.to_async(&runtime).iter(|| {
            count += 1;
            let event = signup.replace(email, &format!("bench{count}@example.com"));
            let sign_up = &sign_up;
            async move { signup::handle(sign_up, request(&event)).await }
        })
    });
    group.finish();
}

/// A refresh spends its token, so every iteration gets a session of its own (opened outside
/// the timed part); the timed part is everything `POST /token/refresh` does. Budget (issue
/// 14): under 100 µs beyond `jwt/issue`.
fn sessions(c: &mut Criterion) {
    let runtime = runtime();
    let devices = app(Profile::Missing);
    let app = app(Profile::Missing);
    let user = testkit::user("bench@example.com");
    runtime.block_on(stored(&app, &user));
    let refresh_event = |app: &App<MemoryStore>| {
        let pair = runtime
            .block_on(app.open_session(&user, ClientInfo::default()))
            .expect("a session");
        event_text(
            "refresh",
            body(serde_json::json!({ "refresh_token": pair.refresh_token })),
        )
    };
    let answer = runtime.block_on(refresh::handle(&app, request(&refresh_event(&app))));
    assert_eq!(status(&answer), 200, "{:?}", answer.body());
    // The device list of a user with two sessions, in a store of its own: the hash map store
    // finds a user's sessions by scanning them all (DynamoDB queries an index), and the
    // refresh benchmark leaves a session per iteration behind.
    let owner = testkit::user("devices@example.com");
    let access = runtime.block_on(async {
        stored(&devices, &owner).await;
        devices
            .open_session(&owner, ClientInfo::default())
            .await
            .expect("a session")
            .token
    });
    let list = event_text("sessions", |event| {
        event["headers"]["authorization"] = format!("Bearer {access}").into();
    });
    let answer = runtime.block_on(sessions::handle(&devices, request(&list)));
    assert_eq!(status(&answer), 200, "{:?}", answer.body());
    assert!(matches!(answer.body(), Body::Text(text) if text.matches("\"id\"").count() == 2));

    let mut group = c.benchmark_group("handler");
    group.bench_function("refresh", |b| {
        b.iter_batched(
            || request(&refresh_event(&app)),
            |request| runtime.block_on(refresh::handle(&app, request)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("sessions", |b| {
        b.to_async(&runtime)
            .iter(|| sessions::handle(&devices, request(black_box(&list))))
    });
    group.finish();
}

criterion_group!(benches, parsing, tokens, rs256, me, passwords, handlers, sessions);
criterion_main!(benches);
