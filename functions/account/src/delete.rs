//! `DELETE /me`: a signed-in user ends their account. The password is asked again and checked
//! as sign-in checks it ([`crate::confirm`]), so a stolen access token alone cannot delete
//! anyone. The address is free for a new sign-up at once.

use lambda_http::Request;
use shared::domain::{PasswordConfirmation, Timestamp};
use shared::store::{PasswordStore, SessionStore, UserStore};
use shared::{http, ApiError};

use crate::{confirm, field, signed_in, Account, NOT_THE_PASSWORD};

pub async fn delete<S: UserStore + SessionStore + PasswordStore>(
    account: &Account<'_, S>,
    request: &Request,
) -> Result<(), ApiError> {
    let app = account.app;
    let (user, _) = signed_in(app, request).await?;
    let PasswordConfirmation(password) = PasswordConfirmation::parse(&http::json_object(request)?)?;
    let profile = app.store.get(user).await?.ok_or(ApiError::InvalidSession)?;
    let email = &profile.email;
    let ip = http::client_ip(request);
    let Some(digest) = confirm::password(account, user, email, password, ip).await? else {
        return Err(field("password", NOT_THE_PASSWORD));
    };
    // Redis first, so every access token of the user dies at once; Redis down, 503 and
    // nothing is deleted.
    app.cache.forget_all(user, Timestamp::now()).await?;
    if !app.store.delete_account(user, email, &digest).await? {
        // A change or a reset replaced the password first: the one sent is not in force.
        return Err(field("password", NOT_THE_PASSWORD));
    }
    if let Err(err) = app.cache.forget_profile(user).await {
        tracing::warn!(error = %err, user_id = %user, "deleted user's cached profile not dropped");
    }
    tracing::info!(%user, "account deleted");
    Ok(())
}
