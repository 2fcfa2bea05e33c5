//! `MemoryStore`: every store port in memory, behind one mutex (never held across an await), so
//! the core can be tested without Postgres. It keeps the semantics the core relies on, as the
//! Postgres store has them: per-thread gapless seqs and the event log (private notes' events
//! for their author alone), the forward-only status ladder, claims, idempotent inbound by
//! MessageSid, cancel-on-reply, opt-out, one contact per phone per team, sessions and tokens by
//! hash (a token's `last_used_at` stamped at most once a minute). Constraints the schema enforces (NUL bytes, lengths, uniqueness) answer the same domain
//! errors the Postgres store classifies them as.
//!
//! Test knobs, by method name (the port method's name, see [`METHODS`]): a latency per call
//! (`tokio::time::sleep`, so paused time applies), the next N calls failing with
//! `DomainError::Internal`, and a count of calls.
//!
//! The ports are split over files as the Postgres store's are: `reads`, `writes` (thread
//! changes), `send` (the carrier's side of a message), `schedule`, `accounts`, `channels`,
//! `contacts`, `replies`, `analytics`, `search`, `notifications`; `shared` holds what the writers
//! share (a thread's row, appending an event).

mod accounts;
mod analytics;
mod assignment;
mod automation;
mod calls;
mod channels;
mod contacts;
mod follow_ups;
mod identities;
mod labels;
mod lists;
mod notifications;
mod passwords;
mod reads;
mod replies;
mod schedule;
mod search;
mod send;
mod shared;
mod templates;
mod two_factor;
mod writes;

use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{Committed, Invite, Page};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

/// Every method name the knobs accept: one per port method.
pub const METHODS: &[&str] = &[
    // Sign-in throttling (AccountReads / AccountWrites)
    "sign_in_blocked_until",
    "is_known_device",
    "record_sign_in_failure",
    "block_sign_in",
    "clear_sign_in_failures",
    "remember_device",
    // ThreadReads
    "list_threads",
    "thread",
    "messages",
    "notes",
    "events_after",
    "thread_for_contact",
    "thread_for_inbound",
    "message_thread",
    "load_thread",
    "message",
    "status_counts",
    // ThreadWrites
    "create_outbound",
    "begin_send",
    "begin_sends",
    "record_send",
    "record_sends",
    "apply_status",
    "record_inbound",
    "add_note",
    "mark_read",
    "mark_unread",
    "update_thread",
    "wake_thread",
    "edit_scheduled",
    "cancel_scheduled",
    "fail_unknown",
    "record_contact_change",
    "record_rule_fired",
    // ScheduleStore
    "due_before",
    "claim_due",
    "stale_sends",
    "touch_claim",
    "due_snoozes",
    "unclaim",
    // AccountStore
    "create_account",
    "credentials",
    "create_session",
    "session_principal",
    "revoke_session",
    "create_token",
    "token_principal",
    "list_tokens",
    "revoke_token",
    "create_invite",
    "members",
    "team_members",
    "invites",
    "audit_log",
    "assigned_threads",
    "record_audit",
    "change_member",
    "revoke_invite",
    "renew_invite",
    "team",
    // TwoFactorStore
    "two_factor",
    "begin_two_factor",
    "enable_two_factor",
    "accept_step",
    "replace_recovery_codes",
    "use_recovery_code",
    "disable_two_factor",
    "set_two_factor_required",
    "create_challenge",
    "try_challenge",
    "finish_challenge",
    // PasswordStore
    "change_password",
    "create_password_reset",
    "password_reset_user",
    "reset_password",
    "create_pending_sign_up",
    "take_pending_sign_up",
    "purge_expired",
    // IdentityStore
    "create_oidc_login",
    "take_oidc_login",
    "identity_user",
    "user_by_email",
    "identity_used",
    "link_identity",
    "open_invite",
    "join_with_identity",
    "identities",
    "unlink_identity",
    // ChannelStore
    "channels",
    "create_channel",
    "delete_channel",
    "channels_for_webhook",
    "message_for_sid",
    "record_receipt",
    // CallReads / CallWrites
    "channel_settings",
    "calls",
    "set_channel_settings",
    "record_call",
    // FollowUpReads / FollowUpWrites
    "follow_ups",
    "follow_up",
    "create_follow_up",
    "update_follow_up",
    // ContactStore
    "list_contacts",
    "create_contact",
    "contact",
    "update_contact",
    "purge_contact",
    "contact_threads",
    "contact_fields",
    "set_contact_fields",
    "set_default_country",
    // LabelReads / LabelWrites
    "labels",
    "create_label",
    "update_label",
    "delete_label",
    // ReplyStore
    "list_replies",
    "reply",
    "create_reply",
    "update_reply",
    "delete_reply",
    // TemplateStore
    "list_templates",
    "template",
    "create_template",
    "update_template",
    "delete_template",
    "upsert_synced",
    // ListReads / ListWrites
    "lists",
    "list",
    "contact_lists",
    "contacts_after",
    "create_list",
    "update_list",
    "delete_list",
    "add_list_members",
    "add_list_members_matching",
    "remove_list_members",
    "bulk_change",
    // ImportReads / ImportStore
    "upsert_contacts",
    "create_import",
    "save_import",
    "cancel_import",
    "import_job",
    "import_errors",
    // AnalyticsStore
    "summary",
    "export",
    // SearchReads
    "search",
    // NotificationStore
    "create_notifications",
    "notifications",
    "unread_notifications",
    "mark_notifications_read",
    "notification_prefs",
    "set_notification_prefs",
    // AutomationReads / AutomationStore
    "rule_firings",
    "automation",
    "set_business_hours",
    "create_rule",
    "update_rule",
    "delete_rule",
    "reorder_rules",
    "recent_inbound",
    "claim_firings",
    "claim_auto_reply",
];

/// All the store's ports, in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    knobs: Mutex<Knobs>,
}

#[derive(Default)]
struct Knobs {
    calls: HashMap<&'static str, usize>,
    failures: HashMap<&'static str, usize>,
    latency: HashMap<&'static str, Duration>,
}

/// The rows, as the schema has them.
#[derive(Default)]
struct State {
    teams: HashMap<TeamId, String>,
    users: HashMap<UserId, UserRow>,
    sessions: HashMap<Vec<u8>, SessionRow>,
    /// Failed sign-ins per email: (failures, held back until).
    sign_in_failures: HashMap<String, (i32, Option<OffsetDateTime>)>,
    /// Devices users signed in from: device hash → user.
    known_devices: HashMap<Vec<u8>, UserId>,
    tokens: HashMap<Vec<u8>, TokenRow>,
    invites: HashMap<Vec<u8>, InviteRow>,
    channels: HashMap<ChannelId, ChannelRow>,
    contacts: HashMap<ContactId, Contact>,
    threads: HashMap<ThreadId, ThreadRow>,
    messages: HashMap<MessageId, MessageRow>,
    notes: Vec<Note>,
    events: HashMap<ThreadId, Vec<ThreadEvent>>,
    receipts: Vec<Receipt>,
    audit: Vec<crate::audit::AuditEntry>,
    /// The team of each audit entry, by position.
    audit_teams: Vec<Option<TeamId>>,
    /// Two-factor per user (the secret kept as given: this store is never at rest).
    two_factor: HashMap<UserId, two_factor::TwoFactorRow>,
    /// Teams that require two-factor.
    two_factor_teams: std::collections::HashSet<TeamId>,
    /// Sign-in challenges by hash.
    challenges: HashMap<Vec<u8>, two_factor::ChallengeRow>,
    /// Teams' default countries.
    default_countries: HashMap<TeamId, String>,
    /// Teams' custom contact fields, in order.
    contact_fields: HashMap<TeamId, Vec<ContactField>>,
    /// Password reset links by hash.
    password_resets: HashMap<Vec<u8>, passwords::ResetRow>,
    /// Sign-ups waiting for their e-mail, by hash: with their expiry.
    pending_sign_ups: HashMap<Vec<u8>, (crate::ports::PendingSignUp, OffsetDateTime)>,
    /// Pending OIDC logins by state hash, with whether each was used.
    oidc_logins: HashMap<Vec<u8>, (crate::ports::OidcLogin, bool)>,
    /// Linked identities, with their user.
    identities: Vec<(UserId, crate::ports::Identity)>,
    /// Canned replies.
    replies: HashMap<ReplyId, CannedReply>,
    /// Approved message templates.
    templates: HashMap<TemplateId, crate::rules::message_templates::MessageTemplate>,
    /// Contact lists and static members.
    lists: HashMap<ListId, lists::ListRow>,
    list_members: std::collections::HashSet<(ListId, ContactId)>,
    /// Imports with their kept error rows.
    imports: HashMap<ImportId, (ImportJob, Vec<ImportRowError>)>,
    /// When each import was last stored (the fake's `updated_at`).
    imports_stored: HashMap<ImportId, OffsetDateTime>,
    /// Teams' automatic assignment, and when each agent was last picked (a counter: the order).
    auto_assignment: HashMap<TeamId, AutoAssignment>,
    last_picked: HashMap<UserId, u64>,
    /// When each team's waiting conversations were last looked at (`claim_backlogs`).
    backlog_swept: HashMap<TeamId, OffsetDateTime>,
    picks: u64,
    /// The teams' labels.
    labels: HashMap<LabelId, Label>,
    /// Each agent's "marked unread" conversations.
    unread_marks: std::collections::HashSet<(UserId, ThreadId)>,
    /// Channels' voice settings (absent: the defaults).
    channel_settings: HashMap<ChannelId, ChannelSettings>,
    /// Calls by CallSid, with their team.
    calls: HashMap<String, (TeamId, Call)>,
    /// When each (channel, contact, kind) automatic reply was last claimed.
    auto_replies: HashMap<(ChannelId, ContactId, &'static str), OffsetDateTime>,
    /// Follow-ups.
    follow_ups: HashMap<FollowUpId, FollowUp>,
    /// The due time each follow-up was reminded for (a new due time is reminded again).
    follow_ups_reminded: HashMap<FollowUpId, OffsetDateTime>,
    /// Notifications with their fact keys, and preferences by user.
    notifications: Vec<notifications::Row>,
    notification_prefs: HashMap<UserId, crate::ports::NotificationPrefs>,
    /// Teams' business hours, their rules, and each rule's firings (rule, message).
    business_hours: HashMap<TeamId, crate::rules::hours::HoursSettings>,
    rules: HashMap<RuleId, crate::rules::automation::Rule>,
    firings: std::collections::HashSet<(RuleId, MessageId)>,
}

struct UserRow {
    user: User,
    /// `None`: the account signs in with its provider only.
    password_hash: Option<String>,
    created_at: OffsetDateTime,
    deactivated_at: Option<OffsetDateTime>,
    removed: bool,
}

impl UserRow {
    fn member(&self) -> crate::ports::Member {
        crate::ports::Member {
            user: self.user.clone(),
            active: self.deactivated_at.is_none(),
            deactivated_at: self.deactivated_at,
            created_at: self.created_at,
        }
    }
}

struct SessionRow {
    user: UserId,
    expires_at: OffsetDateTime,
    revoked: bool,
}

struct TokenRow {
    id: TokenId,
    team: TeamId,
    user: UserId,
    name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl TokenRow {
    /// Neither revoked nor expired, as the Postgres store's `revoked_at IS NULL AND (expires_at
    /// IS NULL OR expires_at > now())`.
    fn live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

struct InviteRow {
    invite: Invite,
    accepted: bool,
    revoked: bool,
}

struct ChannelRow {
    channel: Channel,
    created_at: OffsetDateTime,
    deleted: bool,
}

struct ThreadRow {
    id: ThreadId,
    team: TeamId,
    contact: ContactId,
    channel: ChannelId,
    status: ThreadStatus,
    snoozed_until: Option<OffsetDateTime>,
    assignee: Option<UserId>,
    unread: i32,
    last_message_at: Option<OffsetDateTime>,
    last_preview: String,
    last_seq: i64,
    created_at: OffsetDateTime,
    priority: Priority,
    labels: Vec<LabelId>,
    /// When the contact last wrote (WhatsApp's window).
    last_inbound_at: Option<OffsetDateTime>,
}

impl ThreadRow {
    fn activity(&self) -> OffsetDateTime {
        self.last_message_at.unwrap_or(self.created_at)
    }
}

struct MessageRow {
    msg: Message,
    /// When the message was last taken for the carrier (claims, `touch_claim`).
    claimed_at: Option<OffsetDateTime>,
    raw: Option<serde_json::Value>,
}

/// A verified webhook as received.
struct Receipt {
    team: TeamId,
    kind: String,
    sid: Option<String>,
    params: serde_json::Value,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call of `method` first waits `latency` (`Duration::ZERO` removes it).
    pub fn set_latency(&self, method: &'static str, latency: Duration) {
        let method = known(method);
        let mut knobs = self.knobs();
        if latency.is_zero() {
            knobs.latency.remove(method);
        } else {
            knobs.latency.insert(method, latency);
        }
    }

    /// The next `n` calls of `method` fail with `DomainError::Internal` (after their latency),
    /// changing nothing.
    pub fn fail_next(&self, method: &'static str, n: usize) {
        *self.knobs().failures.entry(known(method)).or_default() += n;
    }

    /// How many times `method` was called (failed calls included).
    pub fn calls(&self, method: &'static str) -> usize {
        self.knobs().calls.get(known(method)).copied().unwrap_or(0)
    }

    /// A message as stored (not counted as a call).
    pub fn message(&self, id: MessageId) -> Option<Message> {
        self.state().messages.get(&id).map(|m| m.msg.clone())
    }

    /// A thread's whole event log, private events included (not counted as a call).
    pub fn events(&self, thread: ThreadId) -> Vec<ThreadEvent> {
        self.state().events.get(&thread).cloned().unwrap_or_default()
    }

    /// Counts the call, waits its latency, and fails it if a failure is due.
    async fn enter(&self, method: &'static str) -> DomainResult<()> {
        let (latency, fail) = {
            let mut knobs = self.knobs();
            *knobs.calls.entry(method).or_default() += 1;
            let fail = match knobs.failures.get_mut(method) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
            (knobs.latency.get(method).copied(), fail)
        };
        if let Some(latency) = latency {
            tokio::time::sleep(latency).await;
        }
        if fail {
            return Err(DomainError::Internal(format!("injected failure of {method}")));
        }
        Ok(())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn knobs(&self) -> MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn known(method: &'static str) -> &'static str {
    assert!(METHODS.contains(&method), "MemoryStore has no method {method:?}");
    method
}

/// What Postgres' `now()` gives the Postgres store: the wall clock.
fn now() -> OffsetDateTime {
    crate::clock::now()
}

/// Text Postgres refuses (22021): answered as the Postgres store classifies it.
fn storable(field: &'static str, text: &str) -> DomainResult<()> {
    if text.contains('\0') {
        return Err(DomainError::invalid(field, "contains a character that cannot be stored (such as a NUL byte)"));
    }
    Ok(())
}

/// The schema's phone check: E.164.
fn e164(field: &'static str, phone: &str) -> DomainResult<()> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    let ok = (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if !ok {
        return Err(DomainError::invalid(field, format!("is not acceptable ({field} must be E.164)")));
    }
    Ok(())
}

/// The inbox preview of a message.
fn preview(body: &str, media: usize) -> String {
    let mut p: String = body.chars().take(140).collect();
    if p.trim().is_empty() && media > 0 {
        p = "📎 Attachment".into();
    }
    p
}

/// An opaque keyset cursor, as the Postgres store's: the sort key and the id of a page's last row.
fn encode_cursor(at: OffsetDateTime, id: uuid::Uuid) -> String {
    hex::encode(format!("{}|{id}", at.unix_timestamp_nanos()))
}

fn decode_cursor(s: &str) -> DomainResult<(OffsetDateTime, uuid::Uuid)> {
    let bad = || DomainError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(hex::decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// Cuts rows sorted in page order into a page of `limit` and its next cursor.
fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more { rows.last().map(key) } else { None };
    Page { items: rows, next_cursor }
}

/// Case-insensitive "contains", as `ILIKE '%term%'`.
fn contains_ci(hay: &str, term: &str) -> bool {
    hay.to_lowercase().contains(&term.to_lowercase())
}

#[cfg(test)]
mod tests;
