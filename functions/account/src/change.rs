//! `POST /password/change`: a signed-in user replaces their password. The current password is
//! checked as sign-in checks it ([`crate::confirm`]); every other session ends, the one the
//! change is made on goes on.

use lambda_http::Request;
use shared::domain::{NewPassword, Timestamp};
use shared::store::{PasswordChange, PasswordStore, SessionStore, UserStore};
use shared::{http, ApiError};

use crate::{confirm, field, signed_in, Account, NOT_THE_PASSWORD};

pub async fn change<S: UserStore + SessionStore + PasswordStore>(
    account: &Account<'_, S>,
    request: &Request,
) -> Result<(), ApiError> {
    let Account { app, hasher, .. } = account;
    let (user, session) = signed_in(app, request).await?;
    let NewPassword { current, new } = NewPassword::parse(&http::json_object(request)?)?;
    let profile = app.store.get(user).await?.ok_or(ApiError::InvalidSession)?;
    let email = &profile.email;
    let ip = http::client_ip(request);
    let Some(old) = confirm::password(account, user, email, current, ip).await? else {
        return Err(field("current_password", NOT_THE_PASSWORD));
    };
    let new = new
        .recheck(&profile.personal_words())
        .map_err(|reason| field("new_password", reason))?;
    let new = hasher.hash(new).await?;
    // Redis first, as for any "sign out everywhere" (sessions::end_every_session).
    let at = Timestamp::now();
    app.cache.forget_all_but(user, at, &session).await?;
    let change = PasswordChange {
        user,
        email,
        old: &old,
        new: &new,
        session: &session,
        at,
    };
    if !app.store.change_password(&change).await? {
        // A racing change or a reset replaced the password first (or this session was
        // signed out meanwhile): the current password is not the one sent any more.
        return Err(field("current_password", NOT_THE_PASSWORD));
    }
    tracing::info!(%user, session_id = session.as_str(), "password changed; other sessions ended");
    Ok(())
}
