//! `POST /signout`: ends the session of the presented token, or with `scope=all` (query
//! parameter or body field) every session of its user: their access tokens at once (Redis),
//! their refresh tokens with them (the durable records).

use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use shared::error::FieldProblem;
use shared::store::SessionStore;
use shared::{http, ApiError, App};

pub async fn handle<S: SessionStore>(app: &App<S>, request: Request) -> Response<Body> {
    app.tokens.learn_issuer(&request);
    match signout(app, &request).await {
        Ok(()) => http::empty(204),
        Err(err) => http::error(&err),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Current,
    All,
}

impl Scope {
    /// `?scope=` wins over a `{"scope": …}` body; neither means the current session. Both are
    /// parsed whenever present: a malformed body or an unknown scope is refused wherever it is.
    pub fn parse(request: &Request) -> Result<Self, ApiError> {
        let from_body = if has_body(request) {
            Self::from_value(http::json_object(request)?.remove("scope"))?
        } else {
            None
        };
        let from_query = Self::from_value(
            request
                .query_string_parameters_ref()
                .and_then(|query| query.first("scope"))
                .map(|value| Value::String(value.to_owned())),
        )?;
        Ok(from_query.or(from_body).unwrap_or(Scope::Current))
    }

    fn from_value(raw: Option<Value>) -> Result<Option<Self>, ApiError> {
        match raw {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s == "current" => Ok(Some(Scope::Current)),
            Some(Value::String(s)) if s == "all" => Ok(Some(Scope::All)),
            Some(_) => Err(ApiError::InvalidFields(vec![FieldProblem::new(
                "scope",
                "must be \"current\" or \"all\"",
            )])),
        }
    }
}

fn has_body(request: &Request) -> bool {
    match request.body() {
        Body::Empty => false,
        Body::Text(text) => !text.trim().is_empty(),
        Body::Binary(bytes) => !bytes.is_empty(),
        _ => true,
    }
}

async fn signout<S: SessionStore>(app: &App<S>, request: &Request) -> Result<(), ApiError> {
    let claims = app.tokens.verify(http::bearer_token(request)?).await?;
    let (Some(user), Some(session)) = (claims.user_id(), claims.session_id()) else {
        return Err(ApiError::InvalidSession);
    };
    let scope = Scope::parse(request)?;
    // Only a live session may sign out, so a revoked token cannot end other sessions.
    let ended = match scope {
        Scope::Current => app.end_session(user, &session).await?,
        Scope::All => app.end_every_session(user, &session).await?,
    };
    if !ended {
        return Err(ApiError::InvalidSession);
    }
    tracing::info!(user_id = %user, ?scope, "signed out");
    Ok(())
}
