//! `GET /me` latency with a warm profile cache vs. DynamoDB only, in one run on one machine:
//! `cargo run --release -p me --example me_latency` (starts its own moto and redis-server).
//! The handler is called in-process, so the figures are our code plus the two back-ends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

const ROUNDS: usize = 500;

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    format!(
        "p50 {:>8.3} ms   p99 {:>8.3} ms",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let env = testkit::env().await;
    let user = env
        .seed_user("latency@example.com", "correct horse battery staple")
        .await;
    let token = env.token_for(&user).await;
    let request = || {
        testkit::with_header(
            testkit::event("me"),
            "authorization",
            &format!("Bearer {token}"),
        )
    };
    // Warm both connections first.
    for _ in 0..20 {
        assert_eq!(me::handle(&env.app, request()).await.status(), 200);
    }
    let (mut warm, mut dynamodb) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let response = me::handle(&env.app, request()).await;
        warm.push(start.elapsed());
        assert_eq!(response.status(), 200);

        env.app.cache.forget_profile(user.id).await.unwrap();
        let start = Instant::now();
        let response = me::handle(&env.app, request()).await;
        dynamodb.push(start.elapsed());
        assert_eq!(response.status(), 200);
    }
    println!("GET /me in-process, {ROUNDS} requests each, interleaved:");
    println!(
        "  warm profile cache (1 Redis round trip):            {}",
        summary(warm)
    );
    println!(
        "  cache miss (Redis + DynamoDB GetItem + cache fill): {}",
        summary(dynamodb)
    );
}
