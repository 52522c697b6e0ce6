//! The session flows every function shares: open one, check one (Redis first, the durable
//! record when Redis does not know), refresh one.

use serde_json::value::RawValue;

use super::{judge, ClientInfo, FoundSession, RefreshToken, SessionRecord, Verdict};
use crate::cache::{SessionId, SessionState};
use crate::domain::{Timestamp, User, UserId};
use crate::store::{NewSession, SessionStore};
use crate::token::IssuedToken;
use crate::{ApiError, App};

/// A refresh that keeps losing its conditional write to other refreshes of the same session
/// gives up after this many reads: only a client hammering one token gets there.
const REFRESH_ROUNDS: usize = 4;

/// A session about to be stored: sign-up writes it in the user's transaction, sign-in alone.
pub struct Opening {
    pub token: RefreshToken,
    pub record: SessionRecord,
    pub deadline: i64,
}

impl Opening {
    pub fn new_session(&self) -> NewSession<'_> {
        NewSession {
            record: &self.record,
            deadline: self.deadline,
        }
    }
}

/// A live session, with what was learnt on the way: the cached `GET /me` body, or the user
/// when the durable record was read.
pub struct LiveSession {
    pub profile: Option<Box<RawValue>>,
    pub user: Option<User>,
}

impl<S> App<S> {
    /// A new session for `user`, not yet stored.
    pub async fn new_session(&self, user: UserId, client: ClientInfo) -> Result<Opening, ApiError> {
        let token = self
            .tokens
            .refresh_keys()
            .await?
            .first(user, &SessionId::random());
        let record = SessionRecord::open(&token, client, Timestamp::now());
        let deadline = record.deadline(&self.lifetimes);
        Ok(Opening {
            token,
            record,
            deadline,
        })
    }

    /// Once `opening` is stored: copies it to Redis and issues its tokens. When Redis cannot
    /// record it the tokens are still issued: the first `GET /me` reads the durable record.
    pub async fn session_opened(
        &self,
        user: &User,
        opening: &Opening,
    ) -> Result<IssuedToken, ApiError> {
        self.warm(user, &opening.record, opening.deadline).await;
        self.pair(user, &opening.token, opening.deadline).await
    }

    async fn pair(
        &self,
        user: &User,
        refresh: &RefreshToken,
        deadline: i64,
    ) -> Result<IssuedToken, ApiError> {
        let left = deadline.saturating_sub(Timestamp::now().unix()).max(0);
        self.tokens
            .issue_pair(user, refresh, u64::try_from(left).unwrap_or(0))
            .await
    }

    /// Copies a live session to Redis; false when Redis has it as ended (a sign-out racing
    /// this request). A Redis failure is logged, not fatal: the durable record stands.
    async fn warm(&self, user: &User, record: &SessionRecord, deadline: i64) -> bool {
        match self
            .cache
            .remember_session(user, &record.id, record.standing_since(), deadline)
            .await
        {
            Ok(recorded) => recorded,
            Err(err) => {
                tracing::warn!(error = %err, user_id = %user.id, "session not copied to Redis");
                true
            }
        }
    }
}

impl<S: SessionStore> App<S> {
    /// Opens and stores a session for `user` and returns its tokens.
    pub async fn open_session(
        &self,
        user: &User,
        client: ClientInfo,
    ) -> Result<IssuedToken, ApiError> {
        let opening = self.new_session(user.id, client).await?;
        self.tokens.signing_ready().await?;
        self.store.open_session(opening.new_session()).await?;
        self.session_opened(user, &opening).await
    }

    /// Whether `session` is live: Redis answers when it knows; otherwise the durable record
    /// does, and Redis is re-warmed with the answer. Redis unreachable: 503 (fail closed).
    pub async fn check_session(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> Result<LiveSession, ApiError> {
        let lookup = self.cache.lookup(user, session).await?;
        match lookup.state {
            SessionState::Live => {
                return Ok(LiveSession {
                    profile: lookup.profile,
                    user: None,
                })
            }
            SessionState::Ended => return Err(ApiError::InvalidSession),
            SessionState::Unknown => {}
        }
        let found = self.store.find_session(user, session).await?;
        match found {
            Some(found) if found.is_live(Timestamp::now(), &self.lifetimes) => {
                let deadline = found.record.deadline(&self.lifetimes);
                if !self.warm(&found.user, &found.record, deadline).await {
                    return Err(ApiError::InvalidSession);
                }
                Ok(LiveSession {
                    profile: None,
                    user: Some(found.user),
                })
            }
            _ => {
                // Remembered as ended, so the next request does not read the table again.
                if let Err(err) = self.cache.forget(user, session).await {
                    tracing::warn!(error = %err, user_id = %user, "ended session not cached");
                }
                Err(ApiError::InvalidSession)
            }
        }
    }

    /// Ends `user`'s `session`, if it is live: Redis first, so its access tokens die at once,
    /// then the durable record, so its refresh token dies with it. When the durable write
    /// fails the answer is 503 and the session is still live there: a retry finishes the job.
    /// False: it was not live (ended, expired, unknown or another user's).
    pub async fn end_session(&self, user: UserId, session: &SessionId) -> Result<bool, ApiError> {
        if !self.is_durably_live(user, session).await? {
            return Ok(false);
        }
        self.cache.forget(user, session).await?;
        self.store.end_session(user, session).await?;
        Ok(true)
    }

    /// Ends every session of `user` opened up to now, on the word of a live one of theirs
    /// (`presented`); false when that one is not live. The same order as [`Self::end_session`].
    pub async fn end_every_session(
        &self,
        user: UserId,
        presented: &SessionId,
    ) -> Result<bool, ApiError> {
        if !self.is_durably_live(user, presented).await? {
            return Ok(false);
        }
        let now = Timestamp::now();
        self.cache.forget_all(user, now).await?;
        self.store.end_all_sessions(user, now).await?;
        Ok(true)
    }

    /// The durable record's word, not Redis's: a session Redis has already forgotten (a
    /// sign-out whose durable write failed) must still be endable.
    async fn is_durably_live(&self, user: UserId, session: &SessionId) -> Result<bool, ApiError> {
        let found = self.store.find_session(user, session).await?;
        Ok(found.is_some_and(|found| found.is_live(Timestamp::now(), &self.lifetimes)))
    }

    /// Spends `token` for a new pair ([`judge`] decides how), or ends its session when it was
    /// spent already.
    pub async fn refresh(&self, token: &RefreshToken) -> Result<IssuedToken, ApiError> {
        let keys = self.tokens.refresh_keys().await?;
        // A token we never minted touches nothing: no read, and above all no revocation.
        if !keys.authentic(token) {
            return Err(ApiError::InvalidSession);
        }
        // Nothing is rotated that could not be answered with a new access token.
        self.tokens.signing_ready().await?;
        for _ in 0..REFRESH_ROUNDS {
            let Some(found) = self.store.find_session(token.user, &token.session).await? else {
                return Err(ApiError::InvalidSession);
            };
            let now = Timestamp::now();
            match judge(&found, token, &keys, now, &self.lifetimes) {
                Verdict::Rotate(next) => {
                    let rotated = found.record.rotated(&next, now);
                    let deadline = rotated.deadline(&self.lifetimes);
                    let stored = NewSession {
                        record: &rotated,
                        deadline,
                    };
                    if self
                        .store
                        .rotate_session(&found.record, &next, stored)
                        .await?
                    {
                        return self.renewed(&found.user, &rotated, &next, deadline).await;
                    }
                    // Another request moved the session on first: judge again what it left.
                }
                Verdict::Replay(current) => {
                    let deadline = found.record.deadline(&self.lifetimes);
                    return self
                        .renewed(&found.user, &found.record, &current, deadline)
                        .await;
                }
                Verdict::Reuse => return Err(self.end_reused(&found).await),
                Verdict::Refuse => return Err(ApiError::InvalidSession),
            }
        }
        Err(ApiError::Unavailable(
            "the session kept changing under the refresh".into(),
        ))
    }

    async fn renewed(
        &self,
        user: &User,
        record: &SessionRecord,
        refresh: &RefreshToken,
        deadline: i64,
    ) -> Result<IssuedToken, ApiError> {
        if !self.warm(user, record, deadline).await {
            return Err(ApiError::InvalidSession);
        }
        self.pair(user, refresh, deadline).await
    }

    /// A spent token came back: whoever holds the chain, the session is over. 401 once it is
    /// ended; 503 when it could not be, so the retry (judged the same) ends it. Redis first, as
    /// sign-out does: the access tokens die at once, and the durable record last, so a failure
    /// in between leaves the reuse detectable again.
    async fn end_reused(&self, found: &FoundSession) -> ApiError {
        let (user, session) = (found.record.user, &found.record.id);
        tracing::warn!(
            user_id = %user,
            session_id = session.as_str(),
            "spent refresh token presented again; ending its session"
        );
        if let Err(err) = self.cache.forget(user, session).await {
            return err.into();
        }
        match self.store.end_session(user, session).await {
            Ok(_) => ApiError::InvalidSession,
            Err(err) => err.into(),
        }
    }
}
