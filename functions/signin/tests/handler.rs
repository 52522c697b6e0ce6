#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signin` driven by the events/ fixtures against a real moto_server.

use std::time::{Duration, Instant};

use shared::store::UserStore;
use testkit::{assert_error, env, event, json, with_body};

const PASSWORD: &str = "correct horse battery staple";

/// Sign-in as its main.rs builds it, on the test's environment.
fn service(env: &testkit::TestEnv) -> signin::SignIn<'_, shared::store::DynamoUserStore> {
    signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    }
}

#[tokio::test]
async fn signs_in_and_moves_last_login_forward() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let mut previous = user.last_login;
    for _ in 0..2 {
        let (status, body) = json(&signin::handle(&service(&env), event("signin")).await);
        assert_eq!(status, 200, "{body}");
        let claims = env
            .app
            .tokens
            .verify(body["token"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(claims.user_id(), Some(user.id));
        let stored = env.app.store.get(user.id).await.unwrap().unwrap();
        assert!(stored.last_login > previous, "last_login moves forward");
        assert_eq!(stored.created_at, user.created_at);
        previous = stored.last_login;
    }
}

#[tokio::test]
async fn email_is_matched_case_insensitively() {
    let env = env().await;
    env.seed_user("hello@world.com", PASSWORD).await;
    let body = format!(r#"{{"email": " Hello@WORLD.com", "password": "{PASSWORD}"}}"#);
    let response = signin::handle(&service(&env), with_body(event("signin"), &body)).await;
    assert_eq!(json(&response).0, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let env = env().await;
    env.seed_user("hello@world.com", PASSWORD).await;
    let wrong = signin::handle(&service(&env), event("signin-wrong-password")).await;
    let unknown = signin::handle(&service(&env), event("signin-unknown-email")).await;
    assert_error(&wrong, 401, "Invalid e-mail or password", 4010);
    assert_error(&unknown, 401, "Invalid e-mail or password", 4010);
    assert_eq!(json(&wrong), json(&unknown));
}

/// An unknown e-mail costs what a wrong password costs (one argon2 verify, against the dummy
/// hash), so timing does not tell whether an account exists. Both are whole sign-ins answered
/// 401, each on a fresh e-mail (no lock gets in the way), interleaved so a loaded machine
/// slows both alike; their medians must be within 0.5–2× of each other. Without the dummy
/// hash an unknown e-mail answers ten times faster; with extra work, slower.
#[tokio::test]
async fn unknown_email_costs_what_a_wrong_password_costs() {
    let env = env().await;
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let known = testkit::unique_email();
        env.seed_user(&known, PASSWORD).await;
        for (email, times) in [(testkit::unique_email(), &mut unknown), (known, &mut wrong)] {
            let request = testkit::signin_from("198.51.100.9", &email, "not the password");
            let start = Instant::now();
            let response = signin::handle(&service(&env), request).await;
            times.push(start.elapsed());
            assert_error(&response, 401, "Invalid e-mail or password", 4010);
        }
    }
    unknown.sort();
    wrong.sort();
    let (unknown, wrong): (Duration, Duration) = (unknown[3], wrong[3]);
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "unknown e-mail {unknown:?}, wrong password {wrong:?} (ratio {ratio:.2})"
    );
}

#[tokio::test]
async fn client_mistakes_get_their_documented_errors() {
    let env = env().await;
    let response = signin::handle(&service(&env), event("signin-missing-fields")).await;
    assert_error(&response, 400, "Missing fields", 4000);
    assert_eq!(json(&response).1["details"][0]["field"], "password");
    for (body, status, message, code) in [
        ("{}", 400, "Missing fields", 4000),
        (
            r#"{"email": "x", "password": "y"}"#,
            400,
            "Invalid fields",
            4001,
        ),
        (
            r#"{"email": 1, "password": "y"}"#,
            400,
            "Invalid fields",
            4001,
        ),
        ("{", 400, "Request body must be a JSON object", 4002),
    ] {
        let response = signin::handle(&service(&env), with_body(event("signin"), body)).await;
        assert_error(&response, status, message, code);
    }
}

#[tokio::test]
async fn an_unreachable_store_answers_503_json() {
    let app = testkit::unreachable_app().await;
    let signin = signin::SignIn {
        app: &app,
        hasher: shared::password::PasswordHasher::new(),
        lockout: shared::lockout::Lockout::default(),
        require_verified: false,
    };
    let response = signin::handle(&signin, event("signin")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
}

mod throttling {
    use std::time::{Duration, Instant};

    use super::service;

    use testkit::redis::RedisServer;
    use testkit::{
        assert_error, env, env_with, json, redis, retry_after, signin_from, unique_email,
    };

    const PASSWORD: &str = "correct horse battery staple";
    const IP: &str = "198.51.100.7";

    #[tokio::test]
    async fn five_failures_lock_the_account_with_doubling_retry_after() {
        let env = env().await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        for _ in 0..5 {
            let response =
                signin::handle(&service(&env), signin_from(IP, &email, "wrong one")).await;
            assert_error(&response, 401, "Invalid e-mail or password", 4010);
        }
        // Locked: even the right password is refused, before any password work.
        let locked = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
        assert_error(
            &locked,
            429,
            "Too many failed sign-in attempts; try again later",
            4291,
        );
        assert_eq!(retry_after(&locked), 1);

        tokio::time::sleep(Duration::from_millis(1100)).await;
        let sixth = signin::handle(&service(&env), signin_from(IP, &email, "wrong again")).await;
        assert_eq!(sixth.status(), 401);
        let locked = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
        assert_eq!(locked.status(), 429);
        assert_eq!(retry_after(&locked), 2, "the lock doubles");

        tokio::time::sleep(Duration::from_millis(2100)).await;
        let back = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
        assert_eq!(json(&back).0, 200, "the lock ends");
    }

    #[tokio::test]
    async fn a_success_resets_the_counter() {
        let env = env().await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        for round in 0..2 {
            for _ in 0..4 {
                let response =
                    signin::handle(&service(&env), signin_from(IP, &email, "nope")).await;
                assert_eq!(response.status(), 401, "round {round}");
            }
            let ok = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
            assert_eq!(ok.status(), 200, "round {round}");
        }
    }

    #[tokio::test]
    async fn unknown_emails_lock_the_same_way() {
        let env = env().await;
        let email = unique_email();
        for _ in 0..5 {
            let response =
                signin::handle(&service(&env), signin_from(IP, &email, "whatever")).await;
            assert_eq!(response.status(), 401);
        }
        let locked = signin::handle(&service(&env), signin_from(IP, &email, "whatever")).await;
        assert_error(
            &locked,
            429,
            "Too many failed sign-in attempts; try again later",
            4291,
        );
    }

    /// A locked answer costs no argon2: it returns in a fraction of one verify. Interleaved
    /// with real verifies so a loaded machine slows both alike.
    #[tokio::test]
    async fn a_locked_account_costs_no_password_work() {
        let env = env().await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        for _ in 0..5 {
            signin::handle(&service(&env), signin_from(IP, &email, "wrong")).await;
        }
        let other = unique_email();
        env.seed_user(&other, PASSWORD).await;
        let (mut locked, mut verified) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let start = Instant::now();
            let response = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
            locked.push(start.elapsed());
            assert_eq!(response.status(), 429);
            let start = Instant::now();
            signin::handle(&service(&env), signin_from(IP, &other, PASSWORD)).await;
            verified.push(start.elapsed());
        }
        locked.sort();
        verified.sort();
        assert!(
            locked[2] * 2 < verified[2],
            "locked {:?} vs a sign-in {:?}",
            locked[2],
            verified[2]
        );
    }

    #[tokio::test]
    async fn each_client_address_has_its_own_bucket() {
        let limits = [
            ("RATE_LIMIT_CAPACITY", "3"),
            ("RATE_LIMIT_REFILL_PER_SECOND", "1"),
        ];
        let env = env_with(&redis::shared().url(), &limits).await;
        let ip = format!("192.0.2.{}", rand_octet());
        for _ in 0..3 {
            let response =
                signin::handle(&service(&env), signin_from(&ip, &unique_email(), "x")).await;
            assert_eq!(response.status(), 401);
        }
        let limited = signin::handle(&service(&env), signin_from(&ip, &unique_email(), "x")).await;
        assert_error(&limited, 429, "Too many requests", 4290);
        assert_eq!(retry_after(&limited), 1);
        // A spoofed X-Forwarded-For does not move the caller to another bucket…
        let mut spoofed = signin_from(&ip, &unique_email(), "x");
        spoofed
            .headers_mut()
            .insert("x-forwarded-for", "203.0.113.99".parse().unwrap());
        assert_eq!(signin::handle(&service(&env), spoofed).await.status(), 429);
        // …but another address really has its own.
        let other = signin_from("192.0.2.250", &unique_email(), "x");
        assert_eq!(signin::handle(&service(&env), other).await.status(), 401);
    }

    /// Guesses racing on one account: each is counted before its password is checked, so
    /// however many run at once, exactly the threshold's worth are checked and the rest are
    /// refused without password work (a check made before counting let all 64 through).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_guesses_get_exactly_five_password_checks() {
        let env = std::sync::Arc::new(env().await);
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let env = env.clone();
                let email = email.clone();
                tokio::spawn(async move {
                    let request = signin_from(IP, &email, "not the password");
                    signin::handle(&service(&env), request)
                        .await
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let (mut checked, mut locked) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                401 => checked += 1,
                429 => locked += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((checked, locked), (5, 59));
        assert_eq!(
            env.lock_failures(&email).await,
            5,
            "every check counted once"
        );
    }

    /// The lock lives in DynamoDB: neither a flushed nor a dead Redis lifts it.
    #[tokio::test]
    async fn the_lock_survives_a_redis_flush_and_a_redis_outage() {
        let redis = RedisServer::start();
        let env = env_with(&redis.url(), &[]).await;
        let (known, unknown) = (unique_email(), unique_email());
        env.seed_user(&known, PASSWORD).await;
        for email in [&known, &unknown] {
            for _ in 0..5 {
                let response =
                    signin::handle(&service(&env), signin_from(IP, email, "wrong")).await;
                assert_eq!(response.status(), 401);
            }
        }
        redis.flush_all();
        for email in [&known, &unknown] {
            let after_flush =
                signin::handle(&service(&env), signin_from(IP, email, PASSWORD)).await;
            assert_error(
                &after_flush,
                429,
                "Too many failed sign-in attempts; try again later",
                4291,
            );
        }
        redis.kill();
        for email in [&known, &unknown] {
            let redis_down = signin::handle(&service(&env), signin_from(IP, email, PASSWORD)).await;
            assert_eq!(redis_down.status(), 429, "locked with Redis down");
        }
    }

    /// With Redis down the per-address rate limit is gone, but the account lock still
    /// bounds the guesses: five checked, then locked.
    #[tokio::test]
    async fn without_redis_an_account_still_gets_only_five_guesses() {
        let redis = RedisServer::start();
        let env = env_with(&redis.url(), &[]).await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        redis.kill();
        let statuses = wrong_guesses(&env, IP, &email, 8).await;
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    }

    /// The operator's lever: another threshold.
    #[tokio::test]
    async fn the_threshold_is_configurable() {
        let server = RedisServer::start();
        let env = env_with(&server.url(), &[("ACCOUNT_LOCK_THRESHOLD", "7")]).await;
        let statuses = wrong_guesses(&env, IP, &unique_email(), 8).await;
        assert_eq!(statuses, [401, 401, 401, 401, 401, 401, 401, 429]);
    }

    /// The statuses of `n` wrong sign-ins at `email` from `ip`, one after another.
    async fn wrong_guesses(env: &testkit::TestEnv, ip: &str, email: &str, n: usize) -> Vec<u16> {
        let mut statuses = Vec::new();
        for _ in 0..n {
            let response = signin::handle(&service(env), signin_from(ip, email, "wrong")).await;
            statuses.push(response.status().as_u16());
        }
        statuses
    }

    /// The operator's lever against lockout abuse: with a per-address threshold below the
    /// account's, one address runs out of guesses long before the account locks for everyone
    /// else; guesses spread over many addresses still meet the account-wide bound.
    #[tokio::test]
    async fn a_per_address_lock_keeps_one_address_from_locking_out_the_others() {
        let server = RedisServer::start();
        let limits = [
            ("ACCOUNT_LOCK_THRESHOLD", "6"),
            ("ADDRESS_LOCK_THRESHOLD", "3"),
        ];
        let env = env_with(&server.url(), &limits).await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        let attacker = wrong_guesses(&env, "203.0.113.5", &email, 4).await;
        assert_eq!(attacker, [401, 401, 401, 429]);
        let owner = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
        assert_eq!(
            json(&owner).0,
            200,
            "the owner, from another address, is not locked out"
        );

        let mut spread = Vec::new();
        for n in 1..=7 {
            spread.extend(wrong_guesses(&env, &format!("192.0.2.{n}"), &email, 1).await);
        }
        assert_eq!(
            spread,
            [401, 401, 401, 401, 401, 401, 429],
            "six per account"
        );
    }

    fn rand_octet() -> u8 {
        uuid::Uuid::new_v4().as_bytes()[0] % 200 + 1
    }

    #[tokio::test]
    async fn redis_down_fails_open_and_sign_in_still_works() {
        let redis = RedisServer::start();
        let env = env_with(&redis.url(), &[]).await;
        let email = unique_email();
        env.seed_user(&email, PASSWORD).await;
        redis.kill();
        let (status, during) =
            json(&signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await);
        assert_eq!(status, 200, "{during}");
        let wrong = signin::handle(&service(&env), signin_from(IP, &email, "wrong")).await;
        assert_eq!(wrong.status(), 401);
        redis.restart();
        let (status, body) =
            json(&signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await);
        assert_eq!(status, 200, "{body}");
        let claims = env
            .app
            .tokens
            .verify(body["token"].as_str().unwrap())
            .await
            .unwrap();
        let lookup = env
            .app
            .cache
            .lookup(claims.user_id().unwrap(), &claims.session_id().unwrap())
            .await
            .unwrap();
        assert_eq!(
            lookup.state,
            shared::cache::SessionState::Live,
            "after recovery sessions are recorded again"
        );
        // The session opened during the outage is durable: Redis learns it on first use.
        let during = env
            .app
            .tokens
            .verify(during["token"].as_str().unwrap())
            .await
            .unwrap();
        let (user, session) = (during.user_id().unwrap(), during.session_id().unwrap());
        let unknown = env.app.cache.lookup(user, &session).await.unwrap();
        assert_eq!(unknown.state, shared::cache::SessionState::Unknown);
        assert!(env.app.check_session(user, &session).await.is_ok());
        let warmed = env.app.cache.lookup(user, &session).await.unwrap();
        assert_eq!(warmed.state, shared::cache::SessionState::Live);
    }
}

/// `REQUIRE_VERIFIED_EMAIL`: the right password of an unverified account is 403 4030 (a wrong
/// one is the usual 401, so the 403 tells nothing to someone without the password); once the
/// address is verified, the same sign-in succeeds.
#[tokio::test]
async fn a_verified_address_can_be_required() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let strict = signin::SignIn {
        require_verified: true,
        ..service(&env)
    };
    let response = signin::handle(&strict, event("signin")).await;
    assert_error(&response, 403, "E-mail address not verified", 4030);
    let response = signin::handle(&strict, event("signin-wrong-password")).await;
    assert_error(&response, 401, "Invalid e-mail or password", 4010);
    // Verified as POST /email/verify leaves the profile.
    env.client
        .update_item()
        .table_name(&env.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", user.id)),
        )
        .update_expression("SET emailVerifiedAt = :at")
        .expression_attribute_values(
            ":at",
            aws_sdk_dynamodb::types::AttributeValue::N(testkit::now_unix().to_string() + "000"),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json(&signin::handle(&strict, event("signin")).await);
    assert_eq!(status, 200, "{body}");
}
