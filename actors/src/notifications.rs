//! The notifications service: stores the facts a thread actor found after its commit
//! (`rules::notifications::facts`) as one notification per recipient, and tells each recipient
//! on their private channel (`notification.created` with the unread count: every tab on every
//! node shows the same number, never a count it kept itself). It also lists a person's
//! notifications, marks them read (every tab hears `notification.read`) and keeps their
//! preferences. Storing runs as an owned task off the actor: a slow insert never holds up the
//! thread, and shutdown waits for it. A store that fails for a moment (no free connection under
//! load, a restart) is tried again a few times: the commit that found the fact is done, and
//! nothing else would ever store it (one notification per recipient and fact, so a retry cannot
//! double it).

use crate::error::DomainResult;
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{NotificationPrefs, NotificationStore, Page, ReadWhich};
use crate::protocol::ChannelName;
use crate::rules::notifications::{self as rules, Fact, Recipients};
use crate::ttl_cache::TtlCache;
use serde_json::json;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// User channel: a notification was stored (`{notification, unread}`).
pub const CREATED: &str = "notification.created";
/// User channel: notifications were marked read (`{ids, all, unread}`).
pub const READ: &str = "notification.read";
/// User channel: the preferences changed (`{preferences}`), so every tab follows.
pub const PREFERENCES: &str = "notification.preferences";

pub use crate::ports::Notification;

/// The service.
pub struct Notifications {
    store: Arc<dyn NotificationStore>,
    fanout: Arc<Fanout>,
    tasks: TaskTracker,
    watchers: TtlCache<TeamId, bool>,
}

/// The waits before each new try of a notification the store failed to take.
const RETRIES: [std::time::Duration; 3] =
    [std::time::Duration::from_millis(250), std::time::Duration::from_secs(1), std::time::Duration::from_secs(2)];

/// How long a node trusts its copy of whether a team watches unassigned threads.
const WATCHERS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Notifications {
    pub fn new(store: Arc<dyn NotificationStore>, fanout: Arc<Fanout>, tasks: TaskTracker) -> Arc<Notifications> {
        Arc::new(Notifications { store, fanout, tasks, watchers: TtlCache::new(WATCHERS_TTL) })
    }

    /// Whether anyone in the team watches unassigned threads, from this node's copy when fresh
    /// (a change on this node is seen at once; on another within `WATCHERS_TTL`).
    async fn has_unassigned_watchers(&self, team: TeamId) -> DomainResult<bool> {
        self.watchers.get_or_load(team, || self.store.has_unassigned_watchers(team)).await
    }

    /// Stores and tells `facts` in an owned task (the thread actor's hand-off).
    pub fn tell(self: &Arc<Self>, facts: Vec<Fact>) {
        if facts.is_empty() {
            return;
        }
        let me = self.clone();
        self.tasks.spawn(async move {
            for fact in &facts {
                let mut waits = RETRIES.iter();
                loop {
                    match me.record(fact).await {
                        Ok(_) => break,
                        Err(e) => match (transient(&e), waits.next()) {
                            (true, Some(wait)) => tokio::time::sleep(*wait).await,
                            _ => {
                                tracing::warn!(thread = %fact.thread, kind = fact.kind.as_str(), error = %e, "could not store a notification");
                                break;
                            }
                        },
                    }
                }
            }
        });
    }

    /// Stores one fact for its recipients and tells each of them; answers how many were stored
    /// (0 when every recipient had it already).
    pub async fn record(&self, fact: &Fact) -> DomainResult<usize> {
        // Most teams have nobody watching unassigned threads: their customers' messages then
        // cost no statement here (the answer is kept per team for a few seconds).
        if fact.recipients == Recipients::UnassignedWatchers && !self.has_unassigned_watchers(fact.team).await? {
            return Ok(0);
        }
        let created = self.store.create_notifications(fact).await?;
        for c in &created {
            let data = json!({ "notification": c.notification, "unread": c.unread });
            self.fanout.publish(ChannelName::User(c.notification.user_id), CREATED, &data);
        }
        Ok(created.len())
    }

    /// A page of `user`'s notifications and their unread count.
    pub async fn list(&self, user: UserId, cursor: Option<&str>, limit: i64) -> DomainResult<(Page<Notification>, i64)> {
        let page = self.store.notifications(user, cursor, limit.clamp(1, rules::MAX_PAGE)).await?;
        let unread = self.store.unread_notifications(user).await?;
        Ok((page, unread))
    }

    /// Marks some or all of `user`'s notifications read; every tab hears it. Answers the unread
    /// count after.
    pub async fn mark_read(&self, user: UserId, which: ReadWhich) -> DomainResult<i64> {
        let (ids, unread) = self.store.mark_notifications_read(user, &which).await?;
        let all = matches!(which, ReadWhich::All);
        if all || !ids.is_empty() {
            self.fanout.publish(ChannelName::User(user), READ, &json!({ "ids": ids, "all": all, "unread": unread }));
        }
        Ok(unread)
    }

    pub async fn preferences(&self, user: UserId) -> DomainResult<NotificationPrefs> {
        self.store.notification_prefs(user).await
    }

    /// Stores `user`'s preferences (`kinds` as typed: each must be known); every tab hears it.
    pub async fn set_preferences(
        &self,
        team: TeamId,
        user: UserId,
        kinds: &[String],
        inbound_unassigned: bool,
        browser: bool,
    ) -> DomainResult<NotificationPrefs> {
        let prefs = NotificationPrefs { kinds: rules::kinds(kinds)?, inbound_unassigned, browser };
        let saved = self.store.set_notification_prefs(team, user, &prefs).await?;
        self.watchers.forget(&team);
        self.fanout.publish(ChannelName::User(user), PREFERENCES, &json!({ "preferences": saved }));
        Ok(saved)
    }
}

/// A failure worth another try: the store was busy or down, not a refusal of the fact.
fn transient(e: &crate::error::DomainError) -> bool {
    use crate::error::DomainError::*;
    matches!(e, Unavailable | Busy | Internal(_))
}
