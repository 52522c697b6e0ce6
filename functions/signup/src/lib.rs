//! `POST /signup`: creates a user with its first session (one transaction) and returns the
//! session's access and refresh tokens.

use lambda_http::{Body, Request, Response};
use shared::cache::Route;
use shared::domain::{NewUser, Timestamp, User, UserId};
use shared::password::PasswordHasher;
use shared::store::UserStore;
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

/// Sign-up's dependencies: the shared ones and argon2 (zxcvbn is a static, in the domain).
pub struct SignUp<'a, S> {
    pub app: &'a App<S>,
    pub hasher: PasswordHasher,
}

pub async fn handle<S: UserStore>(signup: &SignUp<'_, S>, request: Request) -> Response<Body> {
    signup.app.tokens.learn_issuer(&request);
    http::respond(201, sign_up(signup, &request).await)
}

async fn sign_up<S: UserStore>(
    SignUp { app, hasher }: &SignUp<'_, S>,
    request: &Request,
) -> Result<IssuedToken, ApiError> {
    // Before parsing: the password rule (zxcvbn) costs milliseconds on long inputs, so even a
    // body that will be refused spends the client's token.
    app.admit(Route::Signup, request).await?;
    let NewUser {
        email,
        first_name,
        last_name,
        phones,
        password,
    } = NewUser::parse(&http::json_object(request)?)?;
    // The signing keys (read since init) are awaited alongside the hash, before anything is
    // written: an account whose sign-up answered 503 would block its own retry (409).
    let (digest, ready) = tokio::join!(hasher.hash(password), app.tokens.signing_ready());
    ready?;
    let digest = digest?;
    let now = Timestamp::now();
    let user = User {
        id: UserId::random(),
        email,
        first_name,
        last_name,
        phones,
        created_at: now,
        last_login: now,
        email_verified: Default::default(),
    };
    let session = app.new_session(user.id, http::client_info(request)).await?;
    app.store
        .create(&user, &digest, session.new_session())
        .await?;
    tracing::info!(user_id = %user.id, "user signed up");
    app.session_opened(&user, &session).await
}
