//! The password a signed-in user gives to act on their account, checked as sign-in checks it:
//! the try is counted in sign-in's locks before any argon2 work, so a stolen access token
//! cannot guess the password faster than sign-in could, and a lock sign-in set holds here too.

use shared::domain::{Email, Password, UserId};
use shared::lockout::{Attempts, Outcome};
use shared::password::PasswordDigest;
use shared::store::UserStore;
use shared::ApiError;

use crate::Account;

/// The hash `password` was checked against when it is `user`'s, `None` when it is not. The
/// credential read runs alongside the lock's reservation, as in sign-in.
pub(crate) async fn password<S: UserStore>(
    Account {
        app,
        hasher,
        lockout,
    }: &Account<'_, S>,
    user: UserId,
    email: &Email,
    password: Password,
    address: &str,
) -> Result<Option<PasswordDigest>, ApiError> {
    let (attempt, stored) = tokio::join!(
        Attempts::reserve(app, lockout, email, address),
        app.store.credentials(email)
    );
    let attempt = attempt?;
    let stored = match stored {
        Ok(Some(stored)) if stored.user_id == user => stored,
        // The profile's address no longer leads to this user: the account is going or gone.
        Ok(_) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(ApiError::InvalidSession);
        }
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(err.into());
        }
    };
    let digest = stored.digest;
    match hasher.verify(password, Some(digest.clone())).await {
        Ok(true) => {
            // Whatever follows, the failures before it were not consecutive.
            attempt.finish(app, Outcome::Succeeded).await;
            Ok(Some(digest))
        }
        Ok(false) => {
            attempt.finish(app, Outcome::Failed).await;
            Ok(None)
        }
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            Err(err)
        }
    }
}
