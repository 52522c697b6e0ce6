#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The session state machine, against the real stores (moto and a redis-server of this binary's
//! own): random interleavings of sign-in, refresh (with the current, the previous or an older
//! token), sign-out, "sign out everywhere", device removal and cache flushes, checked after
//! every step against a model a few lines long. What must hold whatever the order:
//! - at most one live successor per session: a refresh answers the successor or nothing;
//! - a spent token presented outside the grace period always ends its session;
//! - nothing ended ever comes back, through a flush or otherwise.

use proptest::prelude::*;
use shared::cache::SessionId;
use shared::domain::UserId;
use shared::session::{ClientInfo, RefreshToken};
use shared::token::IssuedToken;
use shared::App;
use testkit::redis::RedisServer;

#[derive(Debug, Clone)]
enum Op {
    SignIn,
    /// Refresh session `n % sessions` with the token `back` generations behind its newest.
    Refresh {
        n: usize,
        back: usize,
    },
    SignOut {
        n: usize,
    },
    SignOutEverywhere,
    /// `DELETE /sessions/{id}` from another session's hands: the same end, another door.
    RemoveDevice {
        n: usize,
    },
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::SignIn),
        6 => (any::<usize>(), 0usize..3).prop_map(|(n, back)| Op::Refresh { n, back }),
        1 => any::<usize>().prop_map(|n| Op::SignOut { n }),
        1 => Just(Op::SignOutEverywhere),
        1 => any::<usize>().prop_map(|n| Op::RemoveDevice { n }),
        1 => Just(Op::Flush),
    ]
}

/// The model: a session is its chain of refresh tokens (newest last), its newest access token,
/// and whether it ended.
struct Modelled {
    chain: Vec<String>,
    access: String,
    ended: bool,
}

struct Machine {
    app: App,
    redis: RedisServer,
    user: UserId,
    grace: bool,
    sessions: Vec<Modelled>,
}

impl Machine {
    fn open(&mut self, issued: IssuedToken) {
        self.sessions.push(Modelled {
            chain: vec![issued.refresh_token],
            access: issued.token,
            ended: false,
        });
    }

    fn session_id(&self, index: usize) -> SessionId {
        testkit::session_of(&self.sessions[index].access)
    }

    async fn step(&mut self, op: &Op, user: &shared::domain::User) {
        let count = self.sessions.len();
        match *op {
            Op::SignIn => {
                let issued = self
                    .app
                    .open_session(user, ClientInfo::default())
                    .await
                    .unwrap();
                self.open(issued);
            }
            Op::Refresh { n, back } => {
                let i = n % count;
                let session = &self.sessions[i];
                let newest = session.chain.len() - 1;
                let Some(k) = newest.checked_sub(back) else {
                    return;
                };
                let token = RefreshToken::parse(&session.chain[k]).unwrap();
                let answer = self.app.refresh(&token).await;
                let session = &mut self.sessions[i];
                match answer {
                    Ok(issued) if !session.ended && k == newest => {
                        assert!(
                            !session.chain.contains(&issued.refresh_token),
                            "a successor is new"
                        );
                        session.chain.push(issued.refresh_token);
                        session.access = issued.token;
                    }
                    Ok(issued) if !session.ended && k + 1 == newest && self.grace => {
                        assert_eq!(
                            issued.refresh_token, session.chain[newest],
                            "within grace, the one successor again: the chain never forks"
                        );
                    }
                    Ok(issued) => panic!(
                        "refresh {k}/{newest} of a session ended={} answered {issued:?}",
                        session.ended
                    ),
                    Err(err) => {
                        assert_eq!(err.code(), 4012, "{err:?}");
                        assert!(
                            session.ended || k < newest,
                            "only a dead session or a spent token is refused"
                        );
                        // A spent token outside grace ends the session; so does nothing else here.
                        session.ended = true;
                    }
                }
            }
            Op::SignOut { n } | Op::RemoveDevice { n } => {
                let i = n % count;
                let was_live = self.app.end_session(self.user, &self.session_id(i)).await;
                assert_eq!(was_live.unwrap(), !self.sessions[i].ended, "session {i}");
                self.sessions[i].ended = true;
            }
            Op::SignOutEverywhere => {
                // On the word of the newest session, as `POST /signout?scope=all` with its token.
                let newest = self.session_id(count - 1);
                let ended = self
                    .app
                    .end_every_session(self.user, &newest)
                    .await
                    .unwrap();
                assert_eq!(ended, !self.sessions[count - 1].ended);
                if ended {
                    for session in &mut self.sessions {
                        session.ended = true;
                    }
                }
                // A session opened next must open strictly after the mark.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Op::Flush => self.redis.flush_all(),
        }
    }

    /// Every session is live exactly when the model says so, as `GET /me` would see it.
    async fn check(&self) {
        for (i, session) in self.sessions.iter().enumerate() {
            let live = self
                .app
                .check_session(self.user, &self.session_id(i))
                .await
                .is_ok();
            assert_eq!(live, !session.ended, "session {i}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sessions_follow_the_model(ops in prop::collection::vec(op(), 1..24), grace in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let redis = RedisServer::start();
            let grace_seconds = if grace { "300" } else { "0" };
            let env = testkit::env_with(
                &redis.url(),
                &[("REFRESH_REUSE_GRACE_SECONDS", grace_seconds)],
            )
            .await;
            let user = env.seed_user("machine@example.com", "correct horse battery staple").await;
            let mut machine = Machine {
                app: env.app,
                redis,
                user: user.id,
                grace,
                sessions: Vec::new(),
            };
            let first = machine.app.open_session(&user, ClientInfo::default()).await.unwrap();
            machine.open(first);
            for op in &ops {
                machine.step(op, &user).await;
                machine.check().await;
            }
        });
    }
}
