//! Where users live. Handlers name the capability they need through [`UserStore`]; DynamoDB
//! is the implementation the functions run with.

mod dynamo;
mod item;

use std::future::Future;

pub use dynamo::{DynamoUserStore, CONFLICT_RETRIES};

use crate::domain::{Email, Timestamp, User, UserId};
use crate::lockout::{Attempt, LockKey, LockPolicy, Outcome, Reservation};
use crate::password::PasswordDigest;
use crate::ApiError;

/// The credential record sign-in reads: whose e-mail this is and the password hash.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    pub user_id: UserId,
    pub digest: PasswordDigest,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("e-mail already registered")]
    EmailTaken,
    /// Throttled, timed out or unreachable after the SDK's retries: worth retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store failure")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => ApiError::EmailTaken,
            StoreError::Unavailable(source) => ApiError::Unavailable(source),
            StoreError::Internal(source) => ApiError::Internal(source),
        }
    }
}

pub trait UserStore: Send + Sync {
    /// Stores a new user and its credential record atomically; the e-mail must be unused.
    fn create(
        &self,
        user: &User,
        digest: &PasswordDigest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The credential record for an e-mail, read strongly consistently.
    fn credentials(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<StoredCredentials>, StoreError>> + Send;

    /// Sets `last_login` and returns the updated user, or `None` when the user is gone.
    fn record_login(
        &self,
        id: UserId,
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    fn get(&self, id: UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Reserves a sign-in attempt on a lock record, atomically, before any password work:
    /// however many run at once, at most what `policy` allows are granted.
    fn reserve_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Records how a granted attempt ended.
    fn finish_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
        attempt: Attempt,
        outcome: Outcome,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
