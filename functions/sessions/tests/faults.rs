#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The device list while DynamoDB or Redis fails, through fault proxies in front of the real
//! servers: 503 inside the function timeout, never a guess, and nothing half-ended.

use std::time::{Duration, Instant};

use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, event, event_edited, json, with_header};

const PASSWORD: &str = "correct horse battery staple";

fn bearer(request: lambda_http::Request, token: &str) -> lambda_http::Request {
    with_header(request, "authorization", &format!("Bearer {token}"))
}

fn removing(id: &str) -> lambda_http::Request {
    event_edited("sessions-remove-unknown", |event| {
        event["pathParameters"]["id"] = id.into();
    })
}

#[tokio::test]
async fn a_failing_back_end_is_503_fast_and_a_removal_can_be_retried() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("fault@world.com", PASSWORD).await;
    let (laptop, phone) = (
        faulty.env.pair_for(&user).await,
        faulty.env.pair_for(&user).await,
    );
    let phone_id = app.tokens.verify(&phone.token).await.unwrap().sid;
    for (proxy, fault) in [
        (&faulty.dynamodb, Fault::Blackhole),
        (&faulty.dynamodb, Fault::Reset),
        (&faulty.redis, Fault::Blackhole),
    ] {
        proxy.set(fault);
        for request in [
            bearer(event("sessions"), &laptop.token),
            bearer(removing(&phone_id), &laptop.token),
        ] {
            let started = Instant::now();
            let response = sessions::handle(app, request).await;
            // A list whose caller Redis already knows needs DynamoDB; with Redis down nothing
            // can be said about the caller: 503 both ways.
            assert_error(&response, 503, "Service unavailable", 5030);
            assert!(started.elapsed() < Duration::from_secs(10), "{fault:?}");
        }
        proxy.set(Fault::None);
    }
    let (status, body) =
        json(&sessions::handle(app, bearer(event("sessions"), &phone.token)).await);
    assert_eq!(
        status, 200,
        "the phone was not ended by a failed removal: {body}"
    );
    let response = sessions::handle(app, bearer(removing(&phone_id), &laptop.token)).await;
    assert_eq!(response.status(), 204);
}

/// The removal reaches Redis, then DynamoDB fails: 503, and the retry finishes the job (the
/// durable record says the session is still live, so it is not "not found").
#[tokio::test]
async fn a_removal_cut_between_redis_and_dynamodb_is_finished_by_its_retry() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("half@world.com", PASSWORD).await;
    let (laptop, phone) = (
        faulty.env.pair_for(&user).await,
        faulty.env.pair_for(&user).await,
    );
    let phone_id = app.tokens.verify(&phone.token).await.unwrap().sid;
    faulty
        .dynamodb
        .set(Fault::DropResponseTo(b"DynamoDB_20120810.UpdateItem"));
    // The SDK retries the lost write; the session is already revoked by then, so the retry's
    // condition fails and the removal must still count as done.
    let response = sessions::handle(app, bearer(removing(&phone_id), &laptop.token)).await;
    faulty.dynamodb.set(Fault::None);
    let status = response.status().as_u16();
    assert!(status == 204 || status == 503, "{status}");
    if status == 503 {
        let retry = sessions::handle(app, bearer(removing(&phone_id), &laptop.token)).await;
        assert_eq!(retry.status(), 204);
    }
    let refresh = shared::session::RefreshToken::parse(&phone.refresh_token).unwrap();
    assert!(app.refresh(&refresh).await.is_err());
}
