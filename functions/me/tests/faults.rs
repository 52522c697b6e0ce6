#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `GET /me` while the network to DynamoDB or Redis fails, through a fault proxy in front of
//! the real servers, with production's SDK timeouts and retries.

use std::time::{Duration, Instant};

use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, json, me_with};

const PASSWORD: &str = "correct horse battery staple";

/// A slow DynamoDB matters only on a cache miss, and then the SDK's timeout answers, well
/// inside the function's 10 s.
#[tokio::test]
async fn a_slow_dynamodb_is_503_on_a_miss_and_invisible_on_a_hit() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("hello@world.com", PASSWORD).await;
    let token = faulty.env.token_for(&user).await;
    assert_eq!(json(&me::handle(app, me_with(&token)).await).0, 200);

    faulty.dynamodb.set(Fault::Delay(Duration::from_secs(3)));
    assert_eq!(json(&me::handle(app, me_with(&token)).await).0, 200);
    app.cache.forget_profile(user.id).await.unwrap();
    let started = Instant::now();
    let response = me::handle(app, me_with(&token)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&me::handle(app, me_with(&token)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "hello@world.com");
}

/// Sessions live in Redis, so a partition fails closed, fast; when the network heals the same
/// connection manager serves the right answers again (no reply is matched to the wrong call).
#[tokio::test]
async fn a_partitioned_redis_fails_closed_and_heals() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("hello@world.com", PASSWORD).await;
    let other = faulty.env.seed_user("other@world.com", PASSWORD).await;
    let token = faulty.env.token_for(&user).await;
    let other_token = faulty.env.token_for(&other).await;

    faulty.redis.set(Fault::Blackhole);
    for _ in 0..3 {
        let started = Instant::now();
        let response = me::handle(app, me_with(&token)).await;
        assert_error(&response, 503, "Service unavailable", 5030);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    faulty.redis.set(Fault::None);
    for (token, email) in [
        (&token, "hello@world.com"),
        (&other_token, "other@world.com"),
    ]
    .into_iter()
    .cycle()
    .take(6)
    {
        let (status, body) = json(&me::handle(app, me_with(token)).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], email);
    }
}

/// `/me` after the Redis connection sat quiet for 1.2 s and the network then forgot it
/// without a word, with REDIS_MAX_IDLE_SECONDS at `max_idle`: the answer, how many new
/// connections it opened, and how long it took.
async fn me_after_a_forgotten_connection(
    max_idle: &str,
) -> (u16, serde_json::Value, usize, Duration) {
    let faulty = testkit::env_with_faults_and(&[("REDIS_MAX_IDLE_SECONDS", max_idle)]).await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("hello@world.com", PASSWORD).await;
    let token = faulty.env.token_for(&user).await;
    assert_eq!(json(&me::handle(app, me_with(&token)).await).0, 200);
    let before = faulty.redis.connections();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    faulty.redis.drop_open_connections();
    let started = Instant::now();
    let (status, body) = json(&me::handle(app, me_with(&token)).await);
    let elapsed = started.elapsed();
    (status, body, faulty.redis.connections() - before, elapsed)
}

/// The network forgets an idle Redis connection (a NAT or VPC interface after ~350 s) sooner
/// than REDIS_MAX_IDLE_SECONDS expected: the first `/me` after that times out once, then
/// retries on a new connection instead of answering 503. (Limit 10 s: 1.2 s of quiet is past
/// a tenth of it, the mark of a forgotten flow.)
#[tokio::test]
async fn a_silently_dropped_redis_connection_is_replaced_not_a_503() {
    let (status, body, opened, elapsed) = me_after_a_forgotten_connection("10").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(opened, 1, "one new connection");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

/// After an idle spell longer than REDIS_MAX_IDLE_SECONDS the connection is replaced before
/// use, so the request does not even wait for the dead one to time out.
#[tokio::test]
async fn a_connection_idle_too_long_is_replaced_before_use() {
    let (status, body, opened, elapsed) = me_after_a_forgotten_connection("1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(opened, 1, "one new connection");
    assert!(
        elapsed < Duration::from_millis(400),
        "waited for the dead one: {elapsed:?}"
    );
}
