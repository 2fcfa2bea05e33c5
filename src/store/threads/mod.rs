//! Threads, messages, notes and the per-thread event log, split by concern: `rows` (row shapes
//! and their domain types), `sql` (fragments the single-statement writers share), `events` (the
//! log and the helpers transactional writers share), `inbox` (listing, lookups, a thread's
//! workflow state), `labels` (labels, unread marks, tab counts), `send`, `status`, `inbound`, `scheduled`, `notes`. Every write appends its
//! thread events atomically with the change, each seq taken from `threads.last_seq` under the
//! thread's row lock. This file only binds the port traits to those functions, converting the
//! store's errors once with `op`.

mod calls;
mod campaign;
mod events;
mod follow_ups;
mod inbound;
pub(crate) use inbound::{InboundCommits, group as inbound_commits};
pub(crate) use send::{TakeCommits, take_group as take_commits};
pub(crate) use send_batch::{SendCommits, group as send_commits};
pub(crate) use status::{StatusCommits, group as status_commits};
mod inbox;
mod labels;
mod notes;
mod rows;
mod scheduled;
mod send;
mod send_batch;
mod sql;
mod status;

use super::{PgStore, op};
use actors::DomainResult;
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

#[async_trait]
impl ThreadReads for PgStore {
    async fn list_threads(&self, team: TeamId, f: &ThreadFilter) -> DomainResult<Page<ThreadSummary>> {
        op(inbox::list_threads(self, team, f)).await
    }

    async fn thread(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary> {
        op(inbox::thread(self, team, id)).await
    }

    async fn messages(&self, team: TeamId, thread: ThreadId, after: Option<&str>, limit: i64) -> DomainResult<Page<Message>> {
        op(inbox::messages(self, team, thread, after, limit)).await
    }

    async fn notes(&self, team: TeamId, thread: ThreadId, viewer: UserId) -> DomainResult<Vec<Note>> {
        op(notes::notes(self, team, thread, viewer)).await
    }

    async fn events_after(&self, team: TeamId, thread: ThreadId, viewer: UserId, after: i64, limit: i64) -> DomainResult<Vec<ThreadEvent>> {
        op(events::events_after(self, team, thread, viewer, after, limit)).await
    }

    async fn message_thread(&self, team: TeamId, message: MessageId) -> DomainResult<ThreadId> {
        op(inbox::message_thread(self, team, message)).await
    }

    async fn load_thread(&self, thread: ThreadId) -> DomainResult<Option<ThreadSummary>> {
        op(inbox::load_thread(self, thread)).await
    }

    async fn message(&self, team: TeamId, message: MessageId) -> DomainResult<Message> {
        op(labels::message(self, team, message)).await
    }

    async fn status_counts(&self, team: TeamId) -> DomainResult<Vec<StatusCount>> {
        op(labels::status_counts(self, team)).await
    }
}

#[async_trait]
impl ThreadWrites for PgStore {
    async fn thread_for_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
    ) -> DomainResult<(ThreadId, bool)> {
        op(inbox::thread_for_contact(self, team, contact, kind, number)).await
    }

    async fn thread_for_inbound(
        &self,
        team: TeamId,
        channel: ChannelId,
        phone: &str,
        profile_name: Option<&str>,
    ) -> DomainResult<(ThreadId, bool)> {
        op(inbox::thread_for_inbound(self, team, channel, phone, profile_name)).await
    }

    async fn create_outbound(&self, m: NewOutbound) -> DomainResult<Committed<Message>> {
        op(send::create_outbound(self, m)).await
    }

    async fn begin_send(&self, message: MessageId) -> DomainResult<Option<Outgoing>> {
        op(send::begin_send(self, message)).await
    }

    async fn record_send(&self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>> {
        op(send::record_send(self, message, outcome)).await
    }

    async fn begin_sends(&self, messages: &[MessageId]) -> DomainResult<Vec<Outgoing>> {
        op(send::begin_sends(self, messages)).await
    }

    async fn record_sends(
        &self,
        thread: ThreadId,
        results: Vec<(MessageId, SendOutcome)>,
    ) -> DomainResult<Option<Committed<Vec<Message>>>> {
        op(send_batch::record_sends(self, thread, results)).await
    }

    async fn apply_status(
        &self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: Value,
        receipt: Option<TeamId>,
    ) -> DomainResult<Option<Committed<Message>>> {
        op(status::apply_status(self, sid, status, error_code, reason, raw, receipt)).await
    }

    async fn record_inbound(&self, m: NewInbound) -> DomainResult<InboundOutcome> {
        op(inbound::record_inbound(self, m)).await
    }

    async fn add_note(
        &self,
        team: TeamId,
        thread: ThreadId,
        author: UserId,
        body: &str,
        visibility: Visibility,
        mentions: &[UserId],
    ) -> DomainResult<Committed<Note>> {
        op(notes::add_note(self, team, thread, author, body, visibility, mentions)).await
    }

    async fn mark_read(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary> {
        op(inbox::mark_read(self, team, thread, reader)).await
    }

    async fn mark_unread(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary> {
        op(labels::mark_unread(self, team, thread, reader)).await
    }

    async fn update_thread(
        &self,
        team: TeamId,
        thread: ThreadId,
        actor: Option<UserId>,
        change: ThreadChange,
    ) -> DomainResult<Committed<ThreadSummary>> {
        op(inbox::update_thread(self, team, thread, actor, change)).await
    }

    async fn wake_thread(&self, thread: ThreadId) -> DomainResult<Option<Committed<ThreadSummary>>> {
        op(inbox::wake_thread(self, thread)).await
    }

    async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: UserId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Committed<Message>> {
        op(scheduled::edit_scheduled(self, team, message, actor, body, send_at)).await
    }

    async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: UserId) -> DomainResult<Committed<Message>> {
        op(scheduled::cancel_scheduled(self, team, message, actor)).await
    }

    async fn fail_unknown(&self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>> {
        op(send::fail_unknown(self, message, older_than)).await
    }

    async fn adopt_sid(&self, message: MessageId, sid: &str) -> DomainResult<Option<Committed<Message>>> {
        op(send::adopt_sid(self, message, sid)).await
    }

    async fn record_contact_change(&self, team: TeamId, thread: ThreadId, contact: &Contact) -> DomainResult<Committed<()>> {
        op(events::record_contact_change(self, team, thread, contact)).await
    }

    async fn record_rule_fired(&self, team: TeamId, thread: ThreadId, data: serde_json::Value) -> DomainResult<Committed<()>> {
        op(events::record_event(self, team, thread, event::RULE_FIRED, data)).await
    }

    async fn create_campaign_message(&self, m: &CampaignMessage) -> DomainResult<Option<(Committed<Message>, Outgoing)>> {
        op(campaign::create_campaign_message(self, m)).await
    }
}

#[async_trait]
impl AutomationReads for PgStore {
    async fn rule_firings(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<ThreadEvent>> {
        op(events::events_of_type(self, team, thread, event::RULE_FIRED)).await
    }
}
