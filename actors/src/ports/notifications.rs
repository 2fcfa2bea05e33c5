//! The port of notifications: stored per user, created from facts (`rules::notifications`) with
//! one row per recipient and fact, read and marked read by their owner, and each person's
//! preferences.

use super::Page;
use crate::error::DomainResult;
use crate::ids::*;
use crate::rules::notifications::{Fact, NotificationKind};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One stored notification.
#[derive(Clone, Debug, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub thread_id: Option<ThreadId>,
    pub actor_id: Option<UserId>,
    /// Who did it, when someone did (the mention's author, who assigned).
    pub actor_name: Option<String>,
    /// `{contact: {name, phone}, preview}`.
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A notification just stored, with its owner's unread count after it.
#[derive(Clone, Debug)]
pub struct Created {
    pub notification: Notification,
    pub unread: i64,
}

/// What a person wants to hear of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPrefs {
    pub kinds: Vec<NotificationKind>,
    /// Inbound messages on unassigned threads too (with `inbound` in `kinds`).
    pub inbound_unassigned: bool,
    /// Whether the app shows browser notifications when its tab is hidden.
    pub browser: bool,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        NotificationPrefs { kinds: NotificationKind::ALL.to_vec(), inbound_unassigned: false, browser: false }
    }
}

/// Which notifications to mark read.
#[derive(Clone, Debug)]
pub enum ReadWhich {
    Ids(Vec<NotificationId>),
    All,
}

/// Notifications in the store.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores the fact for each of its recipients who are active members of its team and want
    /// its kind; a recipient who has it already (same key) is skipped. Answers what was stored.
    async fn create_notifications(&self, fact: &Fact) -> DomainResult<Vec<Created>>;
    /// A user's notifications, newest first, keyset-paged.
    async fn notifications(&self, user: UserId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Notification>>;
    /// How many of a user's notifications are unread.
    async fn unread_notifications(&self, user: UserId) -> DomainResult<i64>;
    /// Marks some (their ids; others' ids are ignored) or all of a user's notifications read;
    /// answers the ids that changed and the unread count after.
    async fn mark_notifications_read(&self, user: UserId, which: &ReadWhich) -> DomainResult<(Vec<NotificationId>, i64)>;
    /// A user's preferences (the defaults when never set).
    async fn notification_prefs(&self, user: UserId) -> DomainResult<NotificationPrefs>;
    /// Stores a user's preferences.
    async fn set_notification_prefs(&self, team: TeamId, user: UserId, prefs: &NotificationPrefs) -> DomainResult<NotificationPrefs>;
    /// Whether any member of the team asked to hear of messages on unassigned threads.
    async fn has_unassigned_watchers(&self, team: TeamId) -> DomainResult<bool>;
}
