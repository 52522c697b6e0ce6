//! Where users live. Handlers name the capability they need through [`UserStore`]; DynamoDB
//! is the implementation the functions run with.

mod dynamo;
mod item;
mod mail;
mod password;

use std::future::Future;

pub use dynamo::{DynamoUserStore, CONFLICT_RETRIES};

use crate::cache::SessionId;
use crate::code::{CodeDigest, Purpose};
use crate::domain::{Email, Timestamp, User, UserId};
use crate::lockout::{Attempt, LockKey, LockPolicy, Outcome, Reservation};
use crate::password::PasswordDigest;
use crate::session::{FoundSession, RefreshToken, SessionRecord};
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

/// What [`SessionStore::list_sessions`] finds.
#[derive(Debug, Clone, Default)]
pub struct UserSessions {
    pub records: Vec<SessionRecord>,
    pub ended_before: Option<Timestamp>,
}

/// A new session and when its record may be deleted (unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub record: &'a SessionRecord,
    pub deadline: i64,
}

pub trait UserStore: Send + Sync {
    /// Stores a new user, its credential record, its first session and the request for its
    /// verification message atomically; the e-mail must be unused.
    fn create(
        &self,
        user: &User,
        digest: &PasswordDigest,
        session: NewSession<'_>,
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

/// Durable sessions ([`crate::session`]).
pub trait SessionStore: Send + Sync {
    /// Records a new session.
    fn open_session(
        &self,
        session: NewSession<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session with its user, read strongly consistently in one round trip; `None` when
    /// either is gone or the session is not this user's.
    fn find_session(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> impl Future<Output = Result<Option<FoundSession>, StoreError>> + Send;

    /// Moves `record` to `next` (the record [`SessionRecord::rotated`] makes), on condition
    /// that it is still at the generation it was judged at and not revoked. False: another
    /// request rotated or ended it first.
    fn rotate_session(
        &self,
        record: &SessionRecord,
        next: &RefreshToken,
        rotated: NewSession<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends one of `user`'s sessions (again, if it was ended: retries are safe). False: there
    /// is no such session of theirs. Whether it was live is [`FoundSession::is_live`]'s call.
    fn end_session(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `user`'s sessions not revoked one by one (some may be expired, or ended by a "sign out
    /// everywhere": the caller judges), with the user's `sessionsEndedAt`.
    fn list_sessions(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<UserSessions, StoreError>> + Send;

    /// Ends every session of `user` opened up to `at`.
    fn end_all_sessions(
        &self,
        user: UserId,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Whether [`MailStore::request_mail`] queued a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailQueued {
    Queued,
    /// The address had its message this minute, or its five this hour.
    OverQuota,
}

/// The e-mail flows ([`crate::code`]): the outbox, the send quota and the one-time codes.
pub trait MailStore: Send + Sync {
    /// Queues a message of `purpose` to `email` if the address's quota allows one more (one a
    /// minute, five an hour): the quota's update and the request are one transaction. The same
    /// work whether the address has an account or not; the mailer finds out.
    fn request_mail(
        &self,
        purpose: Purpose,
        email: &Email,
        at: Timestamp,
    ) -> impl Future<Output = Result<MailQueued, StoreError>> + Send;

    /// Makes `digest` the live code of `purpose` for `user`, valid until `valid_until`; the
    /// code it replaces is dead.
    fn put_code(
        &self,
        purpose: Purpose,
        user: UserId,
        digest: &CodeDigest,
        valid_until: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts a try on `user`'s live code of `purpose` and says whether `digest` is that code.
    /// Counted before the comparison, so parallel guesses cannot outrun the limit; a code
    /// past its tries or its time is no code. Nothing is consumed.
    fn try_code(
        &self,
        purpose: Purpose,
        user: UserId,
        digest: &CodeDigest,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks `user`'s address verified at `at` if `digest` is their live verification code
    /// ([`Self::try_code`]), then deletes the code and marks the profile in one transaction,
    /// so a code works once however many requests race with it. False: no live code, or not
    /// this one.
    fn verify_email(
        &self,
        user: UserId,
        digest: &CodeDigest,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets a new password with a reset code [`Self::try_code`] accepted, in one transaction:
    /// the code consumed (if it is still that code), the credential's hash replaced, every
    /// session so far ended, the address marked verified and `locks` cleared. False: the code
    /// was used or replaced meanwhile, or the account is gone.
    fn reset_password(
        &self,
        reset: &PasswordReset<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What [`MailStore::reset_password`] writes.
#[derive(Debug, Clone, Copy)]
pub struct PasswordReset<'a> {
    pub user: UserId,
    pub email: &'a Email,
    pub code: &'a CodeDigest,
    pub password: &'a PasswordDigest,
    pub at: Timestamp,
    /// The sign-in lock records the old password's failures are counted in.
    pub locks: &'a [LockKey],
}

/// What a signed-in user does to their own account: a new password, or the account's end.
pub trait PasswordStore: Send + Sync {
    /// Replaces `change.old` with `change.new` on the user's credential record and ends every
    /// session of the user but `change.session`, in one transaction. False: the hash is no
    /// longer `old` (a racing change or reset won), or the session was ended meanwhile.
    fn change_password(
        &self,
        change: &PasswordChange<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the account in one transaction: the profile, the credential record (while its
    /// hash is still `digest`, the one the password was checked against), the user's live
    /// codes and the records of their sessions that are not signed out. Every session dies
    /// with the profile (a session is only live beside it); the signed-out ones' records go
    /// with their TTL. False: the password changed or the account went meanwhile.
    fn delete_account(
        &self,
        user: UserId,
        email: &Email,
        digest: &PasswordDigest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What [`PasswordStore::change_password`] writes.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    pub user: UserId,
    pub email: &'a Email,
    /// The hash the current password was verified against.
    pub old: &'a PasswordDigest,
    pub new: &'a PasswordDigest,
    /// The session the change is made on: it goes on.
    pub session: &'a SessionId,
    pub at: Timestamp,
}
