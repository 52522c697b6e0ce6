//! What the account tests share: the function's dependencies from a test environment, and
//! what sign-in, `/me` and a refresh answer after a change or a deletion.

use account::Account;
use serde_json::json;
use shared::store::DynamoUserStore;
use shared::token::IssuedToken;
use testkit::{event, me_with, signin_from, with_body, TestEnv};

pub fn account(env: &TestEnv) -> Account<'_, DynamoUserStore> {
    Account {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
    }
}

/// Sign-in's status for `email` and `password`, from an address of its own.
pub async fn sign_in(env: &TestEnv, email: &str, password: &str) -> u16 {
    let signin = signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    };
    signin::handle(&signin, signin_from("198.51.100.9", email, password))
        .await
        .status()
        .as_u16()
}

#[allow(dead_code)] // not every test file asks
pub async fn me_status(env: &TestEnv, token: &str) -> u16 {
    me::handle(&env.app, me_with(token)).await.status().as_u16()
}

#[allow(dead_code)]
pub async fn refresh_status(env: &TestEnv, pair: &IssuedToken) -> u16 {
    let body = json!({ "refresh_token": pair.refresh_token }).to_string();
    refresh::handle(&env.app, with_body(event("refresh"), &body))
        .await
        .status()
        .as_u16()
}
