//! The hot copy of the durable sessions ([`crate::session`]): a token names its session
//! (`sid`), and `GET /me` asks here first whether it is live.
//!
//! A user's sessions are one hash, `{u:<id>}:sessions`, field = session id, value = the unix
//! second its refresh token dies (live), or minus the second it was ended (a tombstone). A
//! field that is missing says nothing: the caller reads the durable record and re-warms the
//! field ([`crate::App::check_session`]). Tombstones, and the `~ended` field of "sign out
//! everywhere", make the re-warm refuse a session ended meanwhile, so a refresh that races a
//! sign-out cannot bring the session back here.

use redis::Script;
use serde_json::value::RawValue;

use super::{Cache, CacheError};
use crate::domain::{Timestamp, User, UserId};

/// 128 random bits, hex; carried in the token's `sid` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Only our own shape is accepted, so a forged claim cannot smuggle key syntax in.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
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

/// Records a live session unless it was ended here meanwhile; drops expired entries and old
/// tombstones once the hash grows, so a user who signs in all day does not grow it unbounded.
/// ARGV: session, deadline, now, standing since (unix ms: opened, or renewed by a password
/// change).
const REMEMBER: &str = r"
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen and tonumber(seen) <= 0 then return 0 end
local ended = redis.call('HGET', KEYS[1], '~ended')
if ended and tonumber(ended) >= tonumber(ARGV[4]) then return 0 end
local now = tonumber(ARGV[3])
if redis.call('HLEN', KEYS[1]) >= 32 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local v = tonumber(all[i + 1])
    if all[i] ~= '~ended' and ((v > 0 and v <= now) or (v <= 0 and -v < now - 600)) then
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[2]) - now
if ttl > 0 and redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
";

/// Tombstones one session (ARGV: session, now), or every session but one (none when empty)
/// and marks the instant (ARGV: '~ended', now, now in ms, the session kept). Ten minutes
/// outlive by far any race they guard against.
const FORGET: &str = r"
local now = tonumber(ARGV[2])
if ARGV[1] == '~ended' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if all[i] ~= '~ended' and all[i] ~= ARGV[4] then redis.call('HSET', KEYS[1], all[i], -now) end
  end
  redis.call('HSET', KEYS[1], '~ended', ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[1], -now)
end
if redis.call('TTL', KEYS[1]) < 600 then redis.call('EXPIRE', KEYS[1], 600) end
return 1
";

pub(super) struct SessionScripts {
    remember: Script,
    forget: Script,
}

impl SessionScripts {
    pub(super) fn new() -> Self {
        Self {
            remember: Script::new(REMEMBER),
            forget: Script::new(FORGET),
        }
    }
}

/// What Redis knows about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    /// Ended (signed out, reused, expired): no need to ask the durable store.
    Ended,
    /// Not here (a flush, a failover, a cache outage at sign-in): ask the durable store.
    Unknown,
}

/// What `GET /me` learns in one round trip.
pub struct SessionLookup {
    pub state: SessionState,
    /// The cached `GET /me` body, when present.
    pub profile: Option<Box<RawValue>>,
}

impl Cache {
    /// Records a live session (until `deadline`, unix seconds) and refreshes the cached
    /// profile. Returns false, and records nothing, when the session was ended here meanwhile
    /// (after `standing_since`: [`crate::session::SessionRecord::standing_since`]).
    pub async fn remember_session(
        &self,
        user: &User,
        session: &SessionId,
        standing_since: Timestamp,
        deadline: i64,
    ) -> Result<bool, CacheError> {
        let now = Timestamp::now().unix();
        let recorded: i64 = self
            .scripts
            .remember
            .key(sessions_key(user.id))
            .arg(session.as_str())
            .arg(deadline)
            .arg(now)
            .arg(standing_since.unix_millis())
            .invoke_async(&mut self.connection())
            .await?;
        self.put_profile(user).await?;
        Ok(recorded == 1)
    }

    /// What Redis knows about the session, and the cached profile if any: one round trip.
    pub async fn lookup(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> Result<SessionLookup, CacheError> {
        let (deadline, profile): (Option<i64>, Option<String>) = redis::pipe()
            .hget(sessions_key(user), session.as_str())
            .get(profile_key(user))
            .query_async(&mut self.connection())
            .await?;
        let state = match deadline {
            None => SessionState::Unknown,
            Some(at) if at > Timestamp::now().unix() => SessionState::Live,
            Some(_) => SessionState::Ended,
        };
        let profile = profile.and_then(|text| RawValue::from_string(text).ok());
        Ok(SessionLookup { state, profile })
    }

    /// Ends one session here (a tombstone, so a racing re-warm cannot revive it).
    pub async fn forget(&self, user: UserId, session: &SessionId) -> Result<(), CacheError> {
        self.run_forget(user, session.as_str(), Timestamp::now(), "")
            .await
    }

    /// Ends every session of a user opened up to `at`.
    pub async fn forget_all(&self, user: UserId, at: Timestamp) -> Result<(), CacheError> {
        self.run_forget(user, "~ended", at, "").await
    }

    /// Ends every session of a user opened up to `at` but `kept` (a password change's own).
    pub async fn forget_all_but(
        &self,
        user: UserId,
        at: Timestamp,
        kept: &SessionId,
    ) -> Result<(), CacheError> {
        self.run_forget(user, "~ended", at, kept.as_str()).await
    }

    async fn run_forget(
        &self,
        user: UserId,
        field: &str,
        at: Timestamp,
        kept: &str,
    ) -> Result<(), CacheError> {
        self.scripts
            .forget
            .key(sessions_key(user))
            .arg(field)
            .arg(at.unix().max(1))
            .arg(at.unix_millis())
            .arg(kept)
            .invoke_async::<i64>(&mut self.connection())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_strictly_shaped() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "x",
            "}:sessions",
            &"g".repeat(32),
            &"a".repeat(33),
            &"A".repeat(32),
        ] {
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
