//! Durable sessions: what a sign-in opens, a refresh rotates and a sign-out ends. The record in
//! DynamoDB is the truth; Redis holds a copy for the hot path (`GET /me`), re-warmed from here
//! after a flush or failover ([`crate::App::check_session`]).
//!
//! A refresh is judged against the record by [`judge`], a pure function, so the state machine
//! is tested on its own (unit and property tests) and the store only has to make the chosen
//! rotation atomic (a write conditional on the generation it was judged against).

mod refresh;
mod service;

pub use refresh::{RefreshKeys, RefreshToken, SecretDigest};
pub use service::{LiveSession, Opening};

use crate::cache::SessionId;
use crate::domain::{Timestamp, User, UserId};

/// How long sessions and their refresh tokens live, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// A refresh token unused for this long is dead; each rotation starts it again.
    pub refresh_ttl_seconds: u64,
    /// No session outlives its sign-in by more than this, however often it is refreshed.
    pub max_seconds: u64,
    /// How long after a rotation the previous token still gets the current pair.
    pub grace_seconds: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            refresh_ttl_seconds: 30 * 86_400,
            max_seconds: 90 * 86_400,
            grace_seconds: 10,
        }
    }
}

/// Where a session was opened from, as `GET /sessions` shows it; never used for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Longer user agents are cut here: the record is not a place to store arbitrary text.
pub const MAX_USER_AGENT_CHARS: usize = 256;

impl ClientInfo {
    pub fn new(ip: Option<&str>, user_agent: Option<&str>) -> Self {
        let clean = |text: &str, max: usize| {
            let text: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
            Some(text).filter(|t| !t.trim().is_empty())
        };
        Self {
            ip: ip.and_then(|ip| clean(ip, 64)),
            user_agent: user_agent.and_then(|ua| clean(ua, MAX_USER_AGENT_CHARS)),
        }
    }
}

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// How many rotations the session has had; the generation of its current token.
    pub generation: u64,
    /// Digest of the current token's secret, and of the one it replaced.
    pub current: SecretDigest,
    pub previous: Option<SecretDigest>,
    pub rotated_at: Timestamp,
    pub revoked: bool,
    pub client: ClientInfo,
    /// Set by a password change made on this session: the "sign out everywhere" that change
    /// made ends every session but this one, which counts as opened just after it.
    pub renewed_at: Option<Timestamp>,
}

impl SessionRecord {
    /// A new session around its first refresh token.
    pub fn open(first: &RefreshToken, client: ClientInfo, now: Timestamp) -> Self {
        Self {
            id: first.session.clone(),
            user: first.user,
            created_at: now,
            last_used_at: now,
            generation: first.generation,
            current: first.digest(),
            previous: None,
            rotated_at: now,
            revoked: false,
            client,
            renewed_at: None,
        }
    }

    /// When the session counts as opened for a "sign out everywhere": its sign-in, or the
    /// password change made on it since.
    pub fn standing_since(&self) -> Timestamp {
        self.renewed_at
            .map_or(self.created_at, |renewed| renewed.max(self.created_at))
    }

    /// Unix seconds at which the current refresh token dies unless rotated first.
    pub fn deadline(&self, lifetimes: &Lifetimes) -> i64 {
        let idle = self
            .last_used_at
            .unix()
            .saturating_add_unsigned(lifetimes.refresh_ttl_seconds);
        let max = self
            .created_at
            .unix()
            .saturating_add_unsigned(lifetimes.max_seconds);
        idle.min(max)
    }

    /// Live: not revoked, not expired, and not opened before the user's last "sign out
    /// everywhere" (`ended_before`).
    pub fn is_live(
        &self,
        now: Timestamp,
        lifetimes: &Lifetimes,
        ended_before: Option<Timestamp>,
    ) -> bool {
        !self.revoked
            && self.deadline(lifetimes) > now.unix()
            && ended_before.is_none_or(|at| self.standing_since() > at)
    }

    /// The record after rotating to `next` at `now`.
    pub fn rotated(&self, next: &RefreshToken, now: Timestamp) -> Self {
        Self {
            generation: next.generation,
            previous: Some(self.current.clone()),
            current: next.digest(),
            rotated_at: now,
            last_used_at: now,
            ..self.clone()
        }
    }
}

/// A session with its user, as one read returns them.
#[derive(Debug, Clone)]
pub struct FoundSession {
    pub record: SessionRecord,
    pub user: User,
    /// The user's last "sign out everywhere": sessions opened before it are over.
    pub ended_before: Option<Timestamp>,
}

impl FoundSession {
    pub fn is_live(&self, now: Timestamp, lifetimes: &Lifetimes) -> bool {
        self.record.is_live(now, lifetimes, self.ended_before)
    }
}

/// What a presented refresh token earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The session's current token: rotate to this successor.
    Rotate(RefreshToken),
    /// The token just replaced, again within the grace period: the current token again.
    Replay(RefreshToken),
    /// A token of ours that was already spent: someone holds a copy. End the session.
    Reuse,
    /// The session is over, or the token does not match it: refuse, change nothing.
    Refuse,
}

/// Judges an authentic `token` against its session as read at `now`.
pub fn judge(
    found: &FoundSession,
    token: &RefreshToken,
    keys: &RefreshKeys,
    now: Timestamp,
    lifetimes: &Lifetimes,
) -> Verdict {
    let record = &found.record;
    if record.id != token.session || record.user != token.user || !found.is_live(now, lifetimes) {
        return Verdict::Refuse;
    }
    let digest = token.digest();
    if token.generation == record.generation {
        return if digest == record.current {
            Verdict::Rotate(keys.successor(token))
        } else {
            // Same generation, other secret: not a token we minted for this session.
            Verdict::Refuse
        };
    }
    if token.generation > record.generation {
        return Verdict::Refuse;
    }
    if token.generation + 1 == record.generation && record.previous.as_ref() != Some(&digest) {
        return Verdict::Refuse;
    }
    // A rotation stamped after `now` (by a racing request, or an instance whose clock is a
    // little ahead) happened just now.
    let since_rotation = (now.unix_millis() - record.rotated_at.unix_millis()).max(0);
    let within_grace = u64::try_from(since_rotation)
        .is_ok_and(|millis| millis <= lifetimes.grace_seconds.saturating_mul(1000));
    if token.generation + 1 == record.generation && within_grace {
        let successor = keys.successor(token);
        if successor.digest() == record.current {
            return Verdict::Replay(successor);
        }
    }
    Verdict::Reuse
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PersonName};

    fn keys() -> RefreshKeys {
        RefreshKeys::derive(b"a-signing-key-of-at-least-32-bytes!!")
    }

    fn user(id: UserId) -> User {
        let now = Timestamp::now();
        User {
            id,
            first_name: PersonName::parse("A").unwrap(),
            last_name: PersonName::parse("B").unwrap(),
            email: Email::parse("a@b.co").unwrap(),
            phones: vec![],
            created_at: now,
            last_login: now,
            email_verified: Default::default(),
        }
    }

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + millis).unwrap()
    }

    fn found(record: SessionRecord) -> FoundSession {
        FoundSession {
            user: user(record.user),
            record,
            ended_before: None,
        }
    }

    #[test]
    fn the_current_token_rotates_and_the_previous_one_replays_only_within_grace() {
        let keys = keys();
        let life = Lifetimes::default();
        let first = keys.first(UserId::random(), &SessionId::random());
        let opened = SessionRecord::open(&first, ClientInfo::default(), at(0));
        let Verdict::Rotate(second) = judge(&found(opened.clone()), &first, &keys, at(1), &life)
        else {
            panic!("the current token rotates");
        };
        let rotated = opened.rotated(&second, at(1_000));
        assert_eq!(
            judge(&found(rotated.clone()), &first, &keys, at(10_999), &life),
            Verdict::Replay(second.clone())
        );
        assert_eq!(
            judge(&found(rotated.clone()), &first, &keys, at(11_001), &life),
            Verdict::Reuse
        );
        assert_eq!(
            judge(&found(rotated.clone()), &first, &keys, at(900), &life),
            Verdict::Replay(second.clone()),
            "a rotation stamped after the judge's clock is within grace"
        );
        let Verdict::Rotate(third) =
            judge(&found(rotated.clone()), &second, &keys, at(2_000), &life)
        else {
            panic!("the new token rotates");
        };
        let twice = rotated.rotated(&third, at(2_000));
        assert_eq!(
            judge(&found(twice), &first, &keys, at(2_001), &life),
            Verdict::Reuse,
            "two generations back is reuse, grace or not"
        );
    }

    #[test]
    fn dead_sessions_and_foreign_tokens_are_refused() {
        let keys = keys();
        let life = Lifetimes {
            refresh_ttl_seconds: 60,
            max_seconds: 100,
            grace_seconds: 10,
        };
        let first = keys.first(UserId::random(), &SessionId::random());
        let record = SessionRecord::open(&first, ClientInfo::default(), at(0));
        let revoked = SessionRecord {
            revoked: true,
            ..record.clone()
        };
        assert_eq!(
            judge(&found(revoked), &first, &keys, at(1), &life),
            Verdict::Refuse
        );
        assert_eq!(
            judge(&found(record.clone()), &first, &keys, at(60_000), &life),
            Verdict::Refuse,
            "idle for the refresh lifetime"
        );
        let busy = record.rotated(&keys.successor(&first), at(50_000));
        assert_eq!(
            judge(
                &found(busy.clone()),
                &keys.successor(&first),
                &keys,
                at(100_000),
                &life
            ),
            Verdict::Refuse,
            "however busy, never past the maximum"
        );
        let mut signed_out_everywhere = found(record.clone());
        signed_out_everywhere.ended_before = Some(at(0));
        assert_eq!(
            judge(&signed_out_everywhere, &first, &keys, at(1), &life),
            Verdict::Refuse
        );
        // The session a password change was made on outlives the end it made of the others.
        let mut kept = found(SessionRecord {
            renewed_at: Some(at(1)),
            ..record.clone()
        });
        kept.ended_before = Some(at(0));
        assert!(kept.is_live(at(2), &life));
        assert!(matches!(
            judge(&kept, &first, &keys, at(2), &life),
            Verdict::Rotate(_)
        ));
        kept.ended_before = Some(at(1));
        assert!(!kept.is_live(at(2), &life), "a later end ends it too");
        let other = keys.first(first.user, &SessionId::random());
        assert_eq!(
            judge(&found(record), &other, &keys, at(1), &life),
            Verdict::Refuse
        );
    }

    #[test]
    fn client_info_is_trimmed_to_printable_text() {
        let long = "x".repeat(1000);
        let info = ClientInfo::new(Some("203.0.113.9"), Some(&format!("curl\n/8{long}")));
        assert_eq!(info.ip.as_deref(), Some("203.0.113.9"));
        let ua = info.user_agent.unwrap();
        assert!(ua.starts_with("curl/8"));
        assert_eq!(ua.chars().count(), MAX_USER_AGENT_CHARS);
        assert_eq!(ClientInfo::new(None, Some(" ")).user_agent, None);
    }
}
