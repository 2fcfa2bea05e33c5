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
        let s = self.state();
        let marked = |t: &ThreadSummary| f.viewer.is_some_and(|v| s.unread_marks.contains(&(v, t.id)));
        let mut rows: Vec<(time::OffsetDateTime, ThreadSummary)> = s
            .threads
            .values()
            .filter(|t| t.team == team)
            .filter_map(|t| s.summary(t.id).map(|sum| (t.activity(), sum)))
            .map(|(at, mut t)| {
                if f.viewer.is_some() {
                    t.marked_unread = Some(marked(&t));
                }
                (at, t)
            })
            .filter(|(_, t)| !f.unread || t.unread_count > 0 || t.marked_unread == Some(true))
            .filter(|(_, t)| f.view.is_none_or(|v| v.shows(t.status)))
            .filter(|(_, t)| f.label.is_none_or(|l| t.label_ids.contains(&l)))
            .filter(|(_, t)| f.priority.is_none_or(|p| t.priority == p))
            .filter(|(_, t)| !f.scheduled || t.scheduled_count > 0)
            .filter(|(_, t)| f.channel.is_none_or(|k| t.channel.kind == k))
            .filter(|(_, t)| f.status.is_none_or(|st| t.status == st))
            .filter(|(_, t)| f.assignee.is_none_or(|a| t.assignee_id == Some(a)))
            .filter(|(_, t)| !f.unassigned || t.assignee_id.is_none())
            .filter(|(_, t)| f.contact.is_none_or(|c| t.contact.id == c))
            .filter(|(_, t)| {
                f.search
                    .as_deref()
                    .is_none_or(|q| contains_ci(&t.contact.name, q) || t.contact.phone.contains(q) || s.text_matches(t.id, q))
            })
            .collect();
        // By priority the key is (rank, activity, id), and so is the cursor.
        let ranked = f.sort == crate::rules::views::Sort::Priority;
        let key = |at: time::OffsetDateTime, t: &ThreadSummary| (if ranked { t.priority.rank() } else { 0 }, at, t.id.0);
        if let Some(after) = f.cursor.as_deref().map(|c| decode_ranked(c, ranked)).transpose()? {
            rows.retain(|(at, t)| key(*at, t) < after);
        }
        rows.sort_by_key(|(at, t)| std::cmp::Reverse(key(*at, t)));
        let page = page(rows, f.limit, |(at, t)| {
            let (rank, at, id) = key(*at, t);
            if ranked { hex::encode(format!("{rank}|{}", encode_cursor(at, id))) } else { encode_cursor(at, id) }
        });
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

    async fn message(&self, team: TeamId, message: MessageId) -> DomainResult<Message> {
        self.enter("message").await?;
        let s = self.state();
        s.messages.get(&message).map(|m| m.msg.clone()).filter(|m| m.team_id == team).ok_or(DomainError::NotFound("message"))
    }

    async fn status_counts(&self, team: TeamId) -> DomainResult<Vec<crate::ports::StatusCount>> {
        self.enter("status_counts").await?;
        let s = self.state();
        let mut counts: std::collections::HashMap<(ThreadStatus, Option<UserId>), i64> = std::collections::HashMap::new();
        for t in s.threads.values().filter(|t| t.team == team) {
            *counts.entry((t.status, t.assignee)).or_default() += 1;
        }
        Ok(counts.into_iter().map(|((status, assignee), threads)| crate::ports::StatusCount { status, assignee, threads }).collect())
    }
}

/// A cursor as (rank, activity, id): by priority it carries the rank before the plain cursor.
fn decode_ranked(cursor: &str, ranked: bool) -> DomainResult<(i16, time::OffsetDateTime, uuid::Uuid)> {
    if !ranked {
        let (at, id) = decode_cursor(cursor)?;
        return Ok((0, at, id));
    }
    let bad = || DomainError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(hex::decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (rank, rest) = raw.split_once('|').ok_or_else(bad)?;
    let (at, id) = decode_cursor(rest)?;
    Ok((rank.parse().map_err(|_| bad())?, at, id))
}
