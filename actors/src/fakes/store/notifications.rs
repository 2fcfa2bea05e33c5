//! `NotificationStore` in memory: one row per user and fact key (a second insert of the same
//! fact stores nothing), only for active members of the fact's team who want its kind (an
//! inbound message on an unassigned thread only for those who opted in), newest first.

use super::{MemoryStore, decode_cursor, encode_cursor, now, page};
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{Created, Notification, NotificationPrefs, NotificationStore, Page, ReadWhich};
use crate::rules::notifications::{Fact, NotificationKind, Recipients};
use async_trait::async_trait;

/// A stored notification with the key of its fact.
pub(super) struct Row {
    key: String,
    n: Notification,
}

impl super::State {
    fn unread(&self, user: UserId) -> i64 {
        self.notifications.iter().filter(|r| r.n.user_id == user && r.n.read_at.is_none()).count() as i64
    }

    fn prefs(&self, user: UserId) -> NotificationPrefs {
        self.notification_prefs.get(&user).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn create_notifications(&self, fact: &Fact) -> DomainResult<Vec<Created>> {
        self.enter("create_notifications").await?;
        let mut s = self.state();
        let active: Vec<UserId> = s
            .users
            .values()
            .filter(|u| u.user.team_id == fact.team && u.deactivated_at.is_none() && !u.removed)
            .map(|u| u.user.id)
            .collect();
        let candidates: Vec<UserId> = match &fact.recipients {
            Recipients::Users(users) => users.clone(),
            Recipients::UnassignedWatchers => active.iter().copied().filter(|u| s.prefs(*u).inbound_unassigned).collect(),
        };
        let mut out = Vec::new();
        for user in candidates {
            let wants = s.prefs(user).kinds.contains(&fact.kind);
            let had = s.notifications.iter().any(|r| r.n.user_id == user && r.key == fact.key);
            if !active.contains(&user) || !wants || had {
                continue;
            }
            let actor_name = fact.actor.and_then(|a| s.users.get(&a)).map(|u| u.user.name.clone());
            let n = Notification {
                id: NotificationId::new(),
                user_id: user,
                kind: fact.kind,
                thread_id: Some(fact.thread),
                actor_id: fact.actor,
                actor_name,
                data: fact.data.clone(),
                read_at: None,
                created_at: now(),
            };
            s.notifications.push(Row { key: fact.key.clone(), n: n.clone() });
            out.push(Created { notification: n, unread: s.unread(user) });
        }
        Ok(out)
    }

    async fn notifications(&self, user: UserId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Notification>> {
        self.enter("notifications").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<Notification> = s
            .notifications
            .iter()
            .map(|r| &r.n)
            .filter(|n| n.user_id == user && after.is_none_or(|(a, id)| (n.created_at, n.id.0) < (a, id)))
            .cloned()
            .collect();
        rows.sort_by_key(|n| std::cmp::Reverse((n.created_at, n.id)));
        Ok(page(rows, limit, |n| encode_cursor(n.created_at, n.id.0)))
    }

    async fn unread_notifications(&self, user: UserId) -> DomainResult<i64> {
        self.enter("unread_notifications").await?;
        Ok(self.state().unread(user))
    }

    async fn mark_notifications_read(&self, user: UserId, which: &ReadWhich) -> DomainResult<(Vec<NotificationId>, i64)> {
        self.enter("mark_notifications_read").await?;
        let mut s = self.state();
        let at = now();
        let mut changed = Vec::new();
        for r in s.notifications.iter_mut().filter(|r| r.n.user_id == user && r.n.read_at.is_none()) {
            if matches!(which, ReadWhich::All) || matches!(which, ReadWhich::Ids(ids) if ids.contains(&r.n.id)) {
                r.n.read_at = Some(at);
                changed.push(r.n.id);
            }
        }
        Ok((changed, s.unread(user)))
    }

    async fn notification_prefs(&self, user: UserId) -> DomainResult<NotificationPrefs> {
        self.enter("notification_prefs").await?;
        Ok(self.state().prefs(user))
    }

    async fn set_notification_prefs(&self, _team: TeamId, user: UserId, prefs: &NotificationPrefs) -> DomainResult<NotificationPrefs> {
        self.enter("set_notification_prefs").await?;
        let mut prefs = prefs.clone();
        prefs.kinds.sort_by_key(|k| NotificationKind::ALL.iter().position(|a| a == k));
        self.state().notification_prefs.insert(user, prefs.clone());
        Ok(prefs)
    }

    async fn has_unassigned_watchers(&self, team: TeamId) -> DomainResult<bool> {
        self.enter("has_unassigned_watchers").await?;
        let s = self.state();
        Ok(s.notification_prefs.iter().any(|(u, p)| p.inbound_unassigned && s.users.get(u).is_some_and(|r| r.user.team_id == team)))
    }
}
