#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Property: any valid user, unicode names included, comes back from `GET /me` exactly as
//! signed up (names trimmed, e-mail lower-cased), through both handlers and real back-ends.

use proptest::prelude::*;
use serde_json::json;
use testkit::{env, event, json, with_body, with_header};

/// Sign-up as its main.rs builds it, on the test's environment.
fn service(env: &testkit::TestEnv) -> signup::SignUp<'_, shared::store::DynamoUserStore> {
    signup::SignUp {
        app: &env.app,
        hasher: env.hasher.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn signup_then_me_returns_what_was_sent(
        first in "[\\p{L}\\p{M}][\\p{L}\\p{M} '.-]{0,40}[\\p{L}]",
        last in "[\\p{L}]{1,60}",
        local in "[a-z0-9][a-z0-9._+-]{0,15}[a-z0-9]",
        domain in "[a-z0-9]{1,12}",
        phones in prop::collection::vec(
            (0u64..=999_999_999_999_999, 0u32..=99_999, "\\+[1-9][0-9]{0,2}"), 0..=3),
    ) {
        prop_assume!(!local.contains(".."));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let env = env().await;
            let email = format!("{local}@{domain}.example");
            let phones: Vec<_> = phones
                .iter()
                .map(|(n, a, c)| json!({"number": n, "area_code": a, "country_code": c}))
                .collect();
            let body = json!({
                "firstName": format!(" {first} "), "lastName": last, "email": email.to_uppercase(),
                "password": "a passphrase nobody will guess, 42 times", "phones": phones,
            });
            let signed_up = signup::handle(&service(&env), with_body(event("signup"), &body.to_string())).await;
            let (status, token) = json(&signed_up);
            assert_eq!(status, 201, "{token}");
            let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
            let (status, profile) = json(&me::handle(&env.app, with_header(event("me"), "authorization", &bearer)).await);
            assert_eq!(status, 200, "{profile}");
            assert_eq!(profile["firstName"], first.trim());
            assert_eq!(profile["lastName"], last.as_str());
            assert_eq!(profile["email"], email.as_str());
            assert_eq!(profile["phones"], json!(phones));
            assert_eq!(profile["created_at"], profile["last_login"]);
        });
    }
}
