//! Server-side sessions. A token names its session (`sid`); `GET /me` accepts it only while
//! the session is recorded here, so sign-out takes effect at once.
//!
//! A user's sessions are one hash, `{u:<id>}:sessions`, field = session id, value = expiry
//! (unix seconds). One key per user makes "sign out everywhere" a single DEL.

use redis::Script;
use serde_json::value::RawValue;

use super::{Cache, CacheError};
use crate::domain::{Timestamp, User, UserId};

/// 128 random bits, hex; carried in the token's `sid` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Only our own shape is accepted, so a forged claim cannot smuggle key syntax in.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(super) fn sessions_key(user: UserId) -> String {
    format!("{{u:{user}}}:sessions")
}

pub(super) fn profile_key(user: UserId) -> String {
    format!("{{u:{user}}}:profile")
}

/// Records a session and drops expired ones once the hash grows, so a user who signs in all
/// day does not grow the key without bound.
const START_SESSION: &str = r"
if redis.call('HLEN', KEYS[1]) >= 32 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) <= tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], all[i]) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
";

pub(super) struct SessionScripts {
    start: Script,
}

impl SessionScripts {
    pub(super) fn new() -> Self {
        Self {
            start: Script::new(START_SESSION),
        }
    }
}

/// What `GET /me` learns in one round trip.
pub struct SessionLookup {
    pub live: bool,
    /// The cached `GET /me` body, when present.
    pub profile: Option<Box<RawValue>>,
}

impl Cache {
    /// Records a new session for `ttl_seconds` and refreshes the cached profile.
    pub async fn start_session(
        &self,
        user: &User,
        session: &SessionId,
        ttl_seconds: u64,
    ) -> Result<(), CacheError> {
        let now = Timestamp::now().unix();
        let expires = now.saturating_add_unsigned(ttl_seconds);
        self.scripts
            .start
            .key(sessions_key(user.id))
            .arg(session.as_str())
            .arg(expires)
            .arg(now)
            .arg(ttl_seconds)
            .invoke_async::<i64>(&mut self.connection())
            .await?;
        self.put_profile(user).await
    }

    /// Whether the session is live, and the cached profile if any: one pipelined round trip.
    pub async fn lookup(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> Result<SessionLookup, CacheError> {
        let (expires, profile): (Option<i64>, Option<String>) = redis::pipe()
            .hget(sessions_key(user), session.as_str())
            .get(profile_key(user))
            .query_async(&mut self.connection())
            .await?;
        let live = expires.is_some_and(|at| at > Timestamp::now().unix());
        let profile = profile.and_then(|text| RawValue::from_string(text).ok());
        Ok(SessionLookup { live, profile })
    }

    /// Ends one session. Returns whether it was live.
    pub async fn revoke(&self, user: UserId, session: &SessionId) -> Result<bool, CacheError> {
        let removed: i64 = redis::cmd("HDEL")
            .arg(sessions_key(user))
            .arg(session.as_str())
            .query_async(&mut self.connection())
            .await?;
        Ok(removed > 0)
    }

    /// Ends every session of a user.
    pub async fn revoke_all(&self, user: UserId) -> Result<(), CacheError> {
        self.delete(&[sessions_key(user)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_strictly_shaped() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(id.as_str()), Some(id));
        for bad in ["", "x", "}:sessions", &"g".repeat(32), &"a".repeat(33)] {
            assert_eq!(SessionId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_of_one_user_share_a_hash_slot() {
        let user = UserId::random();
        let tag = format!("{{u:{user}}}");
        assert!(sessions_key(user).starts_with(&tag));
        assert!(profile_key(user).starts_with(&tag));
    }
}
