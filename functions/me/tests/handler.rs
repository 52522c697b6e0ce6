#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `GET /me` driven by the events/ fixtures against real moto_server and redis-server.

use serde_json::json as j;
use shared::cache::SessionId;
use shared::domain::UserId;
use shared::store::UserStore;
use testkit::redis::RedisServer;
use testkit::{
    assert_error, env, env_with, event, forge_token, json, me_with, now_unix, with_header, TestEnv,
};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn returns_the_profile_of_the_token_owner() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    for header in [format!("Bearer {token}"), token.clone()] {
        let request = with_header(event("me"), "authorization", &header);
        let (status, body) = json(&me::handle(&env.app, request).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], "hello@world.com");
        assert_eq!(body["firstName"], "Seeded");
        assert_eq!(body["lastName"], "User");
        assert_eq!(body["phones"], j!([]));
        assert_eq!(body["created_at"], body["last_login"]);
        assert_eq!(body["id"], user.id.to_string());
        assert!(body.get("passwordHash").is_none());
    }
}

#[tokio::test]
async fn no_token_is_unauthorized() {
    let env = env().await;
    let response = me::handle(&env.app, event("me-no-token")).await;
    assert_error(&response, 401, "Unauthorized", 4011);
}

#[tokio::test]
async fn bad_tokens_and_unknown_sessions_are_an_invalid_session() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let live = env.token_for(&user).await;
    let live_sid = env.app.tokens.verify(&live).await.unwrap().sid;
    let now = now_unix();
    let claims = |sub: String, exp: i64, iss: &str, sid: &str| j!({"sub": sub, "iat": now - 10, "exp": exp, "iss": iss, "sid": sid, "jti": "t"});
    let id = user.id.to_string();
    let unknown_sid = SessionId::random();
    let tokens = [
        // The fixture's placeholder, as `sam local invoke -e events/me.json` sends it.
        "PASTE-A-TOKEN-FROM-SIGNUP-OR-SIGNIN".to_owned(),
        forge_token(&claims(id.clone(), now - 60, "testkit", &live_sid)),
        forge_token(&claims(id.clone(), now + 60, "someone-else", &live_sid)),
        forge_token(&claims(
            id.clone(),
            now + 60,
            "testkit",
            unknown_sid.as_str(),
        )),
        forge_token(&claims(id.clone(), now + 60, "testkit", "}:injected")),
        forge_token(&claims(
            UserId::random().to_string(),
            now + 60,
            "testkit",
            &live_sid,
        )),
        forge_token(&claims("not-a-uuid".into(), now + 60, "testkit", &live_sid)),
        forge_token(&j!({"sub": id, "iat": now, "exp": now + 60, "iss": "testkit"})),
    ];
    for token in tokens {
        let response = me::handle(&env.app, me_with(&token)).await;
        assert_error(&response, 401, "Unauthorized - invalid session", 4012);
    }
    let valid = forge_token(&claims(id, now + 60, "testkit", &live_sid));
    assert_eq!(json(&me::handle(&env.app, me_with(&valid)).await).0, 200);
}

#[tokio::test]
async fn a_warm_cache_serves_the_profile_without_dynamodb() {
    let env = env().await;
    let user = env.seed_user("cached@world.com", PASSWORD).await;
    let token = env.token_for(&user).await; // sign-in fills the cache
    let cut_off = env.without_dynamodb().await;
    let (status, body) = json(&me::handle(&cut_off, me_with(&token)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "cached@world.com");

    // Without the cached profile the same request needs DynamoDB, which is down: 503.
    env.app.cache.forget_profile(user.id).await.unwrap();
    let response = me::handle(&cut_off, me_with(&token)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    // A miss refills the cache from DynamoDB.
    assert_eq!(json(&me::handle(&env.app, me_with(&token)).await).0, 200);
    assert_eq!(json(&me::handle(&cut_off, me_with(&token)).await).0, 200);
}

#[tokio::test]
async fn an_unreachable_store_answers_503_json() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    env.app.cache.forget_profile(user.id).await.unwrap();
    let app = env.without_dynamodb().await;
    assert_error(
        &me::handle(&app, me_with(&token)).await,
        503,
        "Service unavailable",
        5030,
    );
}

#[tokio::test]
async fn redis_down_fails_closed_and_recovers_without_a_restart() {
    let redis = RedisServer::start();
    let env: TestEnv = env_with(&redis.url(), &[]).await;
    let user = env.seed_user("fragile@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    assert_eq!(json(&me::handle(&env.app, me_with(&token)).await).0, 200);

    redis.kill();
    let started = std::time::Instant::now();
    let response = me::handle(&env.app, me_with(&token)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // Empty after the restart: the durable session record answers, and Redis learns it again.
    redis.restart();
    assert_eq!(json(&me::handle(&env.app, me_with(&token)).await).0, 200);
    let fresh = env.token_for(&user).await;
    assert_eq!(json(&me::handle(&env.app, me_with(&fresh)).await).0, 200);
    let stored = env.app.store.get(user.id).await.unwrap();
    assert!(stored.is_some(), "DynamoDB kept the user throughout");
}

/// A flush (or a failover to an empty replica) loses Redis's copy of every session: live ones
/// keep working from their durable records, and ended ones stay ended, signed out one by one
/// or everywhere.
#[tokio::test]
async fn after_a_flush_live_sessions_live_on_and_ended_ones_stay_ended() {
    let env = env().await;
    let user = env.seed_user("flushed@world.com", PASSWORD).await;
    let other = env.seed_user("everywhere@world.com", PASSWORD).await;
    let (live, ended) = (env.token_for(&user).await, env.token_for(&user).await);
    let everywhere = env.token_for(&other).await;
    let session = testkit::session_of(&ended);
    env.end_session(user.id, &session).await;
    env.end_all_sessions(other.id).await;
    for _ in 0..2 {
        env.redis.as_ref().unwrap().flush_all();
        for round in ["from the table", "from the re-warmed cache"] {
            let (status, body) = json(&me::handle(&env.app, me_with(&live)).await);
            assert_eq!(
                (status, &body["email"]),
                (200, &j!("flushed@world.com")),
                "{round}"
            );
            for token in [&ended, &everywhere] {
                let response = me::handle(&env.app, me_with(token)).await;
                assert_error(&response, 401, "Unauthorized - invalid session", 4012);
            }
        }
    }
    // Once re-warmed, Redis alone answers: DynamoDB can be gone.
    let cut_off = env.without_dynamodb().await;
    assert_eq!(json(&me::handle(&cut_off, me_with(&live)).await).0, 200);
    let response = me::handle(&cut_off, me_with(&ended)).await;
    assert_error(&response, 401, "Unauthorized - invalid session", 4012);
}

/// The JWT attack suite: every hostile token is "Unauthorized - invalid session", and none
/// reaches a store: the app here has neither DynamoDB nor Redis, so a store call would be 503.
#[tokio::test]
async fn hostile_tokens_are_refused_before_any_store_is_asked() {
    use base64::Engine as _;
    let app = testkit::app_without_backends().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = now_unix();
    let good = |exp: i64| {
        j!({"sub": UserId::random().to_string(), "iat": now - 10, "exp": exp,
            "iss": "testkit", "aud": "rust-auth-api", "sid": SessionId::random().as_str(),
            "jti": "a"})
    };
    let key = testkit::test_signing_key();
    let kid = key.kid();
    let sign = |header: serde_json::Value, claims: serde_json::Value| {
        testkit::sign_rs256(&header, &claims, key)
    };
    // What we publish, as an attacker would use it for an HMAC secret.
    let jwks = testkit::test_key_set().published().to_json();
    let unsigned = |header: serde_json::Value| {
        format!(
            "{}.{}.",
            b64.encode(header.to_string()),
            b64.encode(good(now + 60).to_string())
        )
    };
    let mut no_exp = good(0);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut future_nbf = good(now + 600);
    future_nbf["nbf"] = j!(now + 300);
    let mut wrong_iss = good(now + 60);
    wrong_iss["iss"] = j!("attacker");
    let mut wrong_aud = good(now + 60);
    wrong_aud["aud"] = j!("another-api");
    let ours = j!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let stranger =
        shared::token::rs256::SigningKey::from_pkcs8_pem(&testkit::rsa_private_key(2048)).unwrap();
    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(j!({"alg": "none", "typ": "at+jwt", "kid": kid})),
        ),
        ("alg None", unsigned(j!({"alg": "None"}))),
        (
            "HS256 with the published keys as secret (algorithm confusion)",
            testkit::sign_raw(
                &j!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
                &good(now + 60),
                jwks.as_bytes(),
            ),
        ),
        (
            "HS256 signed with the issuer name",
            testkit::sign_raw(
                &j!({"alg": "HS256", "typ": "at+jwt"}),
                &good(now + 60),
                b"testkit",
            ),
        ),
        (
            "another key under our kid",
            testkit::sign_rs256(&ours, &good(now + 60), &stranger),
        ),
        (
            "another key under its own kid",
            testkit::sign_rs256(
                &j!({"alg": "RS256", "typ": "at+jwt", "kid": stranger.kid()}),
                &good(now + 60),
                &stranger,
            ),
        ),
        ("wrong iss", sign(ours.clone(), wrong_iss)),
        ("wrong aud", sign(ours.clone(), wrong_aud)),
        ("no exp", sign(ours.clone(), no_exp)),
        ("expired beyond leeway", sign(ours.clone(), good(now - 30))),
        ("nbf in the future", sign(ours.clone(), future_nbf)),
        (
            "junk kid",
            sign(
                j!({"alg": "RS256", "typ": "at+jwt", "kid": "' OR 1=1 --"}),
                good(now + 60),
            ),
        ),
        (
            "no kid",
            sign(j!({"alg": "RS256", "typ": "at+jwt"}), good(now + 60)),
        ),
        (
            "jku",
            sign(
                j!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "jku": "http://127.0.0.1/k"}),
                good(now + 60),
            ),
        ),
        (
            "9 KiB token",
            format!("{}.{}.x", "a".repeat(4600), "b".repeat(4600)),
        ),
        ("three dots", "...".to_owned()),
        (
            "typ JWT: not an access token",
            sign(
                j!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                good(now + 60),
            ),
        ),
        ("not base64", "%%%.%%%.%%%".to_owned()),
        (
            "claims not JSON",
            format!(
                "{}.{}.sig",
                b64.encode(ours.to_string()),
                b64.encode("nope")
            ),
        ),
    ];
    for (name, token) in attacks {
        let response = me::handle(&app, me_with(&token)).await;
        let (status, body) = json(&response);
        assert_eq!(
            (status, body["errorCode"].as_u64()),
            (401, Some(4012)),
            "{name}: {body}"
        );
    }
    // The same app does reach its (dead) stores for a well-signed token: the test can fail.
    let sound = sign(ours, good(now + 60));
    assert_eq!(json(&me::handle(&app, me_with(&sound)).await).0, 503);
}
