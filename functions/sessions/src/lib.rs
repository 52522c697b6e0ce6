//! The user's devices: `GET /sessions` lists their live sessions (newest use first, the
//! caller's own marked `current`); `DELETE /sessions/{id}` ends one, its access and refresh
//! tokens with it (204). Both need a live access token. An id that is not a live session of
//! the caller's, another user's included, is 404: ids cannot be probed.

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::cache::SessionId;
use shared::domain::{Timestamp, UserId};
use shared::session::SessionRecord;
use shared::store::SessionStore;
use shared::{http, ApiError, App};

pub async fn handle<S: SessionStore>(app: &App<S>, request: Request) -> Response<Body> {
    app.tokens.learn_issuer(&request);
    if request.method() == Method::DELETE {
        return match remove(app, &request).await {
            Ok(()) => http::empty(204),
            Err(err) => http::error(&err),
        };
    }
    http::respond(200, list(app, &request).await)
}

#[derive(Debug, Serialize)]
pub struct Devices {
    pub sessions: Vec<Device>,
}

/// One session as its user sees it.
#[derive(Debug, Serialize)]
pub struct Device {
    pub id: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

impl Device {
    fn of(record: SessionRecord, current: &SessionId) -> Self {
        Self {
            current: record.id == *current,
            id: record.id.as_str().to_owned(),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            ip: record.client.ip,
            user_agent: record.client.user_agent,
        }
    }
}

/// The caller, from a live access token.
async fn caller<S: SessionStore>(
    app: &App<S>,
    request: &Request,
) -> Result<(UserId, SessionId), ApiError> {
    let claims = app.tokens.verify(http::bearer_token(request)?).await?;
    let (Some(user), Some(session)) = (claims.user_id(), claims.session_id()) else {
        return Err(ApiError::InvalidSession);
    };
    app.check_session(user, &session).await?;
    Ok((user, session))
}

async fn list<S: SessionStore>(app: &App<S>, request: &Request) -> Result<Devices, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::SessionNotFound);
    }
    let (user, current) = caller(app, request).await?;
    let mut found = app.store.list_sessions(user).await?;
    // The index trails the table by a moment: the caller's own session is always listed.
    if !found.records.iter().any(|record| record.id == current) {
        if let Some(own) = app.store.find_session(user, &current).await? {
            found.records.push(own.record);
        }
    }
    let now = Timestamp::now();
    let mut live: Vec<SessionRecord> = found
        .records
        .into_iter()
        .filter(|record| record.is_live(now, &app.lifetimes, found.ended_before))
        .collect();
    live.sort_by_key(|record| std::cmp::Reverse(record.last_used_at));
    Ok(Devices {
        sessions: live
            .into_iter()
            .map(|record| Device::of(record, &current))
            .collect(),
    })
}

async fn remove<S: SessionStore>(app: &App<S>, request: &Request) -> Result<(), ApiError> {
    let (user, _) = caller(app, request).await?;
    let target = session_id(request).ok_or(ApiError::SessionNotFound)?;
    if !app.end_session(user, &target).await? {
        return Err(ApiError::SessionNotFound);
    }
    tracing::info!(user_id = %user, session_id = target.as_str(), "device signed out");
    Ok(())
}

/// `{id}` of the route: API Gateway's path parameter, or the path itself.
fn session_id(request: &Request) -> Option<SessionId> {
    let parameters = request.path_parameters_ref();
    let raw = match parameters.and_then(|p| p.first("id")) {
        Some(id) => id.to_owned(),
        None => request.uri().path().strip_prefix("/sessions/")?.to_owned(),
    };
    SessionId::parse(&raw)
}
