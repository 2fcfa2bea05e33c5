//! `ThreadReads` in memory: the inbox, a thread's messages, notes and events (private ones for
//! their author alone), and the get-or-create lookups of a contact's or an inbound message's
//! thread.

use super::{MemoryStore, contains_ci, decode_cursor, encode_cursor, page};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{Page, ThreadFilter, ThreadReads};
use async_trait::async_trait;

#[async_trait]
impl ThreadReads for MemoryStore {
    async fn list_threads(&self, team: TeamId, f: &ThreadFilter) -> DomainResult<Page<ThreadSummary>> {
        self.enter("list_threads").await?;
        let after = f.cursor.as_deref().map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<(time::OffsetDateTime, ThreadSummary)> = s
            .threads
            .values()
            .filter(|t| t.team == team)
            .filter_map(|t| s.summary(t.id).map(|sum| (t.activity(), sum)))
            .filter(|(_, t)| !f.unread || t.unread_count > 0)
            .filter(|(_, t)| !f.scheduled || t.scheduled_count > 0)
            .filter(|(_, t)| f.channel.is_none_or(|k| t.channel.kind == k))
            .filter(|(_, t)| f.status.is_none_or(|st| t.status == st))
            .filter(|(_, t)| f.assignee.is_none_or(|a| t.assignee_id == Some(a)))
            .filter(|(_, t)| !f.unassigned || t.assignee_id.is_none())
            .filter(|(_, t)| f.contact.is_none_or(|c| t.contact.id == c))
            .filter(|(_, t)| f.search.as_deref().is_none_or(|q| contains_ci(&t.contact.name, q) || t.contact.phone.contains(q)))
            .filter(|(at, t)| after.is_none_or(|(a, id)| (*at, t.id.0) < (a, id)))
            .collect();
        rows.sort_by_key(|(at, t)| std::cmp::Reverse((*at, t.id)));
        let page = page(rows, f.limit, |(at, t)| encode_cursor(*at, t.id.0));
        Ok(Page { items: page.items.into_iter().map(|(_, t)| t).collect(), next_cursor: page.next_cursor })
    }

    async fn thread(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary> {
        self.enter("thread").await?;
        self.state().team_summary(team, id)
    }

    async fn messages(&self, team: TeamId, thread: ThreadId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Message>> {
        self.enter("messages").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<Message> = s
            .messages
            .values()
            .map(|m| &m.msg)
            .filter(|m| m.team_id == team && m.thread_id == thread)
            .filter(|m| after.is_none_or(|(a, id)| (m.created_at, m.id.0) < (a, id)))
            .cloned()
            .collect();
        rows.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        Ok(page(rows, limit, |m| encode_cursor(m.created_at, m.id.0)))
    }

    async fn notes(&self, team: TeamId, thread: ThreadId, viewer: UserId) -> DomainResult<Vec<Note>> {
        self.enter("notes").await?;
        let s = self.state();
        let mut notes: Vec<Note> = s
            .notes
            .iter()
            .filter(|n| n.team_id == team && n.thread_id == thread)
            .filter(|n| n.visibility == Visibility::Public || n.author_id == viewer)
            .cloned()
            .collect();
        notes.sort_by_key(|n| (n.created_at, n.id));
        Ok(notes)
    }

    async fn events_after(&self, team: TeamId, thread: ThreadId, viewer: UserId, after: i64, limit: i64) -> DomainResult<Vec<ThreadEvent>> {
        self.enter("events_after").await?;
        let s = self.state();
        let events = s.events.get(&thread).map(Vec::as_slice).unwrap_or_default();
        Ok(events
            .iter()
            .filter(|e| e.team_id == team && e.seq > after && e.audience.is_none_or(|a| a == viewer))
            .take(limit.max(0) as usize + 1)
            .cloned()
            .collect())
    }

    async fn message_thread(&self, team: TeamId, message: MessageId) -> DomainResult<ThreadId> {
        self.enter("message_thread").await?;
        let s = self.state();
        s.messages.get(&message).filter(|m| m.msg.team_id == team).map(|m| m.msg.thread_id).ok_or(DomainError::NotFound("message"))
    }

    async fn load_thread(&self, thread: ThreadId) -> DomainResult<Option<ThreadSummary>> {
        self.enter("load_thread").await?;
        Ok(self.state().summary(thread))
    }
}
