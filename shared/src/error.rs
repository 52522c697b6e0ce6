//! The one error type of the API. Each variant knows its HTTP status, its public message and
//! its stable `errorCode`; internal causes are logged at the boundary and never sent out.

use serde::Serialize;

/// A field that failed parsing, named with its JSON path (`phones[0].number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub reason: &'static str,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, reason: &'static str) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Missing fields")]
    MissingFields(Vec<FieldProblem>),
    #[error("Invalid fields")]
    InvalidFields(Vec<FieldProblem>),
    #[error("Request body must be a JSON object")]
    MalformedBody,
    #[error("Request body too large")]
    BodyTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A one-time code that is wrong, used, expired or out of tries, or an address without
    /// one: all answered alike.
    #[error("Invalid or expired code")]
    InvalidCode,
    /// `REQUIRE_VERIFIED_EMAIL`: the password was right, but the address is not verified.
    #[error("E-mail address not verified")]
    EmailNotVerified,
    /// `DELETE /sessions/{id}`: no live session of this user has that id (another user's
    /// is answered the same, so ids cannot be probed).
    #[error("Session not found")]
    SessionNotFound,
    #[error("E-mail already exists")]
    EmailTaken,
    #[error("Invalid e-mail or password")]
    InvalidCredentials,
    #[error("Unauthorized")]
    MissingToken,
    #[error("Unauthorized - invalid session")]
    InvalidSession,
    /// Too many requests from one client address; `retry_after` in seconds.
    #[error("Too many requests")]
    RateLimited { retry_after: u64 },
    /// Too many consecutive failed sign-ins for one e-mail, known or not.
    #[error("Too many failed sign-in attempts; try again later")]
    AccountLocked { retry_after: u64 },
    /// A dependency (DynamoDB, Secrets Manager) could not answer in time; retrying may work.
    #[error("Service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bug or an inconsistency; the cause is logged, the client sees a generic message.
    #[error("Internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingFields(_)
            | Self::InvalidFields(_)
            | Self::MalformedBody
            | Self::InvalidCode => 400,
            Self::EmailNotVerified => 403,
            Self::InvalidCredentials | Self::MissingToken | Self::InvalidSession => 401,
            Self::SessionNotFound => 404,
            Self::EmailTaken => 409,
            Self::BodyTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited { .. } | Self::AccountLocked { .. } => 429,
            Self::Internal(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// Stable public codes: the first three digits are the HTTP status. Never renumber one;
    /// README.md and openapi.yaml publish this table.
    pub fn code(&self) -> u16 {
        match self {
            Self::MissingFields(_) => 4000,
            Self::InvalidFields(_) => 4001,
            Self::MalformedBody => 4002,
            Self::InvalidCode => 4003,
            Self::EmailNotVerified => 4030,
            Self::InvalidCredentials => 4010,
            Self::MissingToken => 4011,
            Self::InvalidSession => 4012,
            Self::SessionNotFound => 4040,
            Self::EmailTaken => 4090,
            Self::BodyTooLarge => 4130,
            Self::UnsupportedMediaType => 4150,
            Self::RateLimited { .. } => 4290,
            Self::AccountLocked { .. } => 4291,
            Self::Internal(_) => 5000,
            Self::Unavailable(_) => 5030,
        }
    }

    /// Seconds for the `Retry-After` header of a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } | Self::AccountLocked { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    pub fn details(&self) -> &[FieldProblem] {
        match self {
            Self::MissingFields(d) | Self::InvalidFields(d) => d,
            _ => &[],
        }
    }

    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    /// The JSON body clients receive: `{"message", "errorCode"}` plus `details` when fields
    /// are named.
    pub fn body(&self) -> ErrorBody<'_> {
        let details = self.details();
        ErrorBody {
            message: self.to_string(),
            error_code: self.code(),
            details: (!details.is_empty()).then_some(details),
        }
    }

    /// Logs what the client will not see. Client mistakes are not worth more than debug.
    pub fn log(&self) {
        match self {
            Self::Internal(source) => {
                tracing::error!(error = %ErrorChain(source.as_ref()), "internal error")
            }
            Self::Unavailable(source) => {
                tracing::error!(error = %ErrorChain(source.as_ref()), "dependency unavailable")
            }
            other => tracing::debug!(status = other.status(), code = other.code(), "{other}"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub message: String,
    #[serde(rename = "errorCode")]
    pub error_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<&'a [FieldProblem]>,
}

/// Displays an error with all its sources, `outer: inner: innermost`, for log lines.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ApiError> {
        vec![
            ApiError::MissingFields(vec![]),
            ApiError::InvalidFields(vec![]),
            ApiError::MalformedBody,
            ApiError::BodyTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::EmailTaken,
            ApiError::InvalidCredentials,
            ApiError::MissingToken,
            ApiError::InvalidSession,
            ApiError::RateLimited { retry_after: 1 },
            ApiError::AccountLocked { retry_after: 1 },
            ApiError::internal("x"),
            ApiError::Unavailable("x".into()),
        ]
    }

    #[test]
    fn codes_are_unique_and_start_with_the_status() {
        let errors = all();
        let mut codes: Vec<u16> = errors.iter().map(ApiError::code).collect();
        for e in &errors {
            assert_eq!(e.code() / 10, e.status(), "{e:?}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
    }

    #[test]
    fn contract_messages_are_exact() {
        assert_eq!(ApiError::EmailTaken.to_string(), "E-mail already exists");
        assert_eq!(
            ApiError::InvalidFields(vec![]).to_string(),
            "Invalid fields"
        );
        assert_eq!(
            ApiError::MissingFields(vec![]).to_string(),
            "Missing fields"
        );
        assert_eq!(
            ApiError::InvalidCredentials.to_string(),
            "Invalid e-mail or password"
        );
        assert_eq!(ApiError::MissingToken.to_string(), "Unauthorized");
        assert_eq!(
            ApiError::InvalidSession.to_string(),
            "Unauthorized - invalid session"
        );
    }

    #[test]
    fn internal_causes_never_reach_the_body() {
        let err = ApiError::internal("table users-secret-name missing");
        let body = serde_json::to_value(err.body()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"message": "Internal server error", "errorCode": 5000})
        );
    }

    #[test]
    fn details_are_listed_only_when_present() {
        let err = ApiError::InvalidFields(vec![FieldProblem::new("email", "malformed")]);
        let body = serde_json::to_value(err.body()).unwrap_or_default();
        assert_eq!(body["details"][0]["field"], "email");
        let body = serde_json::to_value(ApiError::EmailTaken.body()).unwrap_or_default();
        assert!(body.get("details").is_none());
    }
}
