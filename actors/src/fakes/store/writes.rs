//! `ThreadWrites` in memory. Each write is atomic (one lock) and returns the events it appended
//! with their seqs, and the thread's new inbox row, as the Postgres store's transactions do.
//! The carrier's side of a message lives in `send`.

use super::{MemoryStore, MessageRow, Receipt, State, e164, now, preview, storable};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl ThreadWrites for MemoryStore {
    async fn thread_for_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
    ) -> DomainResult<(ThreadId, bool)> {
        self.enter("thread_for_contact").await?;
        let mut s = self.state();
        if s.contacts.get(&contact).is_none_or(|c| c.team_id != team) {
            return Err(DomainError::NotFound("contact"));
        }
        // The chosen number, else the team's first live channel of that kind (real numbers
        // before simulated ones).
        let channel = s
            .channels
            .values()
            .filter(|c| c.channel.team_id == team && c.channel.kind == kind && !c.deleted)
            .filter(|c| number.is_none_or(|n| c.channel.id == n))
            .min_by_key(|c| (c.channel.simulated, c.created_at, c.channel.id))
            .map(|c| c.channel.id)
            .ok_or_else(|| match number {
                Some(_) => DomainError::invalid("channel_id", format!("not a {kind} number of the team")),
                None => DomainError::invalid("channel", format!("the team has no {kind} number")),
            })?;
        Ok(s.upsert_thread(team, contact, channel))
    }

    async fn thread_for_inbound(
        &self,
        team: TeamId,
        channel: ChannelId,
        phone: &str,
        profile_name: Option<&str>,
    ) -> DomainResult<(ThreadId, bool)> {
        self.enter("thread_for_inbound").await?;
        e164("phone", phone)?;
        if let Some(name) = profile_name {
            storable("name", name)?;
        }
        let mut s = self.state();
        if !s.channels.contains_key(&channel) {
            return Err(DomainError::invalid("channel", "is not acceptable (threads_channel_id_fkey)"));
        }
        let name = profile_name.map(|n| n.chars().take(200).collect::<String>());
        let existing = s.contacts.values().find(|c| c.team_id == team && c.phone == phone).map(|c| c.id);
        let contact = match existing {
            Some(id) => {
                // Only an empty name takes the WhatsApp profile name.
                let c = s.contacts.get_mut(&id).expect("found above");
                // A deleted contact comes back with a new message.
                c.deleted_at = None;
                if let Some(name) = name.filter(|n| !n.trim().is_empty())
                    && c.name.is_empty()
                {
                    c.name = name;
                }
                id
            }
            None => {
                let id = ContactId::new();
                let mut contact = Contact::new(id, team, name.unwrap_or_default(), phone.to_owned(), super::now());
                contact.source = Some("inbound".into());
                s.contacts.insert(id, contact);
                id
            }
        };
        Ok(s.upsert_thread(team, contact, channel))
    }

    async fn create_outbound(&self, msg: NewOutbound) -> DomainResult<Committed<Message>> {
        self.enter("create_outbound").await?;
        self.state().create_outbound(msg)
    }

    async fn begin_send(&self, message: MessageId) -> DomainResult<Option<Outgoing>> {
        self.enter("begin_send").await?;
        Ok(self.state().begin_send(message))
    }

    async fn record_send(&self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>> {
        self.enter("record_send").await?;
        self.state().record_send(message, outcome)
    }

    async fn begin_sends(&self, messages: &[MessageId]) -> DomainResult<Vec<Outgoing>> {
        self.enter("begin_sends").await?;
        let mut s = self.state();
        Ok(messages.iter().filter_map(|m| s.begin_send(*m)).collect())
    }

    async fn record_sends(
        &self,
        thread: ThreadId,
        results: Vec<(MessageId, SendOutcome)>,
    ) -> DomainResult<Option<Committed<Vec<Message>>>> {
        self.enter("record_sends").await?;
        // One lock: the batch is recorded at once, like the Postgres store's one statement.
        let mut s = self.state();
        let mut done = None;
        for (message, outcome) in results {
            if s.messages.get(&message).is_some_and(|m| m.msg.thread_id == thread)
                && let Some(c) = s.record_send(message, outcome)?
            {
                gather(&mut done, c);
            }
        }
        Ok(done)
    }

    async fn apply_status(
        &self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: serde_json::Value,
        receipt: Option<TeamId>,
    ) -> DomainResult<Option<Committed<Message>>> {
        self.enter("apply_status").await?;
        let mut s = self.state();
        if let Some(team) = receipt {
            s.keep_receipt(team, "status", Some(sid), raw.clone());
        }
        s.update_status(sid, status, error_code, reason, Some(raw))
    }

    async fn record_inbound(&self, msg: NewInbound) -> DomainResult<InboundOutcome> {
        self.enter("record_inbound").await?;
        self.state().record_inbound(msg)
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
        self.enter("add_note").await?;
        storable("body", body)?;
        if !(1..=crate::rules::MAX_NOTE_CHARS).contains(&body.chars().count()) {
            return Err(DomainError::invalid("body", "is not acceptable (notes_body_check)"));
        }
        let mut s = self.state();
        s.team_summary(team, thread)?;
        let author_name = s
            .users
            .get(&author)
            .map(|u| u.user.name.clone())
            .ok_or_else(|| DomainError::invalid("request", "is not acceptable (author)"))?;
        let note = Note {
            id: NoteId::new(),
            team_id: team,
            thread_id: thread,
            author_id: author,
            author_name,
            body: body.to_owned(),
            visibility,
            mentions: mentions.to_vec(),
            created_at: now(),
        };
        s.notes.push(note.clone());
        // A private note's event is for its author alone.
        let audience = (visibility == Visibility::Private).then_some(author);
        let data = serde_json::to_value(&note).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = s.append(team, thread, event::NOTE_CREATED, Some(author), audience, data)?;
        let summary = s.team_summary(team, thread)?;
        Ok(Committed { value: note, events: vec![event], thread: summary })
    }

    async fn mark_read(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary> {
        self.enter("mark_read").await?;
        let mut s = self.state();
        let t = s.threads.get_mut(&thread).filter(|t| t.team == team).ok_or(DomainError::NotFound("thread"))?;
        t.unread = 0;
        s.unread_marks.remove(&(reader, thread));
        s.reader_summary(team, thread, reader)
    }

    async fn mark_unread(&self, team: TeamId, thread: ThreadId, reader: UserId) -> DomainResult<ThreadSummary> {
        self.enter("mark_unread").await?;
        let mut s = self.state();
        s.team_summary(team, thread)?;
        s.unread_marks.insert((reader, thread));
        s.reader_summary(team, thread, reader)
    }

    async fn update_thread(
        &self,
        team: TeamId,
        thread: ThreadId,
        actor: Option<UserId>,
        change: ThreadChange,
    ) -> DomainResult<Committed<ThreadSummary>> {
        self.enter("update_thread").await?;
        let ThreadChange { status, snoozed_until, assignee, priority, labels, add_labels } = change;
        let mut s = self.state();
        if let Some(Some(user)) = assignee
            && s.users.get(&user).is_none_or(|u| u.user.team_id != team || u.deactivated_at.is_some())
        {
            return Err(DomainError::invalid("assignee_id", "is not a member of this team"));
        }
        if labels.iter().flatten().chain(&add_labels).any(|l| s.labels.get(l).is_none_or(|l| l.team_id != team)) {
            return Err(DomainError::invalid("labels", "are not all labels of this team"));
        }
        let t = s.threads.get_mut(&thread).filter(|t| t.team == team).ok_or(DomainError::NotFound("thread"))?;
        let mut new_labels = labels.unwrap_or_else(|| t.labels.clone());
        for label in add_labels {
            if !new_labels.contains(&label) {
                new_labels.push(label);
            }
        }
        if new_labels.len() > crate::rules::labels::MAX_PER_THREAD {
            return Err(DomainError::invalid("labels", "too many labels on a conversation"));
        }
        t.labels = new_labels;
        if let Some(status) = status {
            t.status = status;
            t.snoozed_until = snoozed_until.filter(|_| status == ThreadStatus::Snoozed);
        }
        if let Some(assignee) = assignee {
            t.assignee = assignee;
        }
        if let Some(priority) = priority {
            t.priority = priority;
        }
        let before = s.team_summary(team, thread)?;
        let data = serde_json::to_value(&before).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = s.append(team, thread, event::THREAD_UPDATED, actor, None, data)?;
        let summary = s.team_summary(team, thread)?;
        Ok(Committed { value: summary.clone(), events: vec![event], thread: summary })
    }

    async fn wake_thread(&self, thread: ThreadId) -> DomainResult<Option<Committed<ThreadSummary>>> {
        self.enter("wake_thread").await?;
        let mut s = self.state();
        let Some(t) = s.threads.get_mut(&thread) else { return Ok(None) };
        if t.status != ThreadStatus::Snoozed || t.snoozed_until.is_none_or(|u| u > now()) {
            return Ok(None);
        }
        t.status = ThreadStatus::Open;
        t.snoozed_until = None;
        let team = t.team;
        let before = s.team_summary(team, thread)?;
        let data = serde_json::to_value(&before).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = s.append(team, thread, event::THREAD_UPDATED, None, None, data)?;
        let summary = s.team_summary(team, thread)?;
        Ok(Some(Committed { value: summary.clone(), events: vec![event], thread: summary }))
    }

    async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: UserId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Committed<Message>> {
        self.enter("edit_scheduled").await?;
        if let Some(body) = &body {
            storable("body", body)?;
        }
        let mut s = self.state();
        let row = s.scheduled_mut(team, message)?;
        if let Some(body) = body {
            row.msg.body = body;
        }
        if let Some(at) = send_at {
            row.msg.scheduled_at = Some(at);
        }
        s.message_updated(message, Some(actor))
    }

    async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: UserId) -> DomainResult<Committed<Message>> {
        self.enter("cancel_scheduled").await?;
        let mut s = self.state();
        s.scheduled_mut(team, message)?.msg.status = MessageStatus::Canceled;
        s.message_updated(message, Some(actor))
    }

    async fn fail_unknown(&self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>> {
        self.enter("fail_unknown").await?;
        self.state().fail_unknown(message, older_than)
    }

    async fn adopt_sid(&self, message: MessageId, sid: &str) -> DomainResult<Option<Committed<Message>>> {
        self.enter("adopt_sid").await?;
        self.state().adopt_sid(message, sid)
    }

    async fn record_contact_change(&self, team: TeamId, thread: ThreadId, contact: &Contact) -> DomainResult<Committed<()>> {
        self.enter("record_contact_change").await?;
        let mut s = self.state();
        let data = serde_json::to_value(contact).map_err(|e| DomainError::Internal(e.to_string()))?;
        let event = s.append(team, thread, event::CONTACT_UPDATED, None, None, data)?;
        let summary = s.team_summary(team, thread)?;
        Ok(Committed { value: (), events: vec![event], thread: summary })
    }

    async fn record_rule_fired(&self, team: TeamId, thread: ThreadId, data: serde_json::Value) -> DomainResult<Committed<()>> {
        self.enter("record_rule_fired").await?;
        let mut s = self.state();
        let event = s.append(team, thread, event::RULE_FIRED, None, None, data)?;
        let summary = s.team_summary(team, thread)?;
        Ok(Committed { value: (), events: vec![event], thread: summary })
    }
}

impl State {
    /// A message of the team that is still scheduled: NotFound for another team's or a missing
    /// one, Conflict once it has moved on.
    fn scheduled_mut(&mut self, team: TeamId, message: MessageId) -> DomainResult<&mut MessageRow> {
        let row = self.messages.get_mut(&message).filter(|m| m.msg.team_id == team).ok_or(DomainError::NotFound("message"))?;
        match row.msg.status {
            MessageStatus::Scheduled => Ok(row),
            other => Err(DomainError::Conflict(format!("the message is no longer scheduled (it is {other})"))),
        }
    }

    fn record_inbound(&mut self, m: NewInbound) -> DomainResult<InboundOutcome> {
        storable("body", &m.body)?;
        storable("provider_sid", &m.message_sid)?;
        // The receipt is kept either way: duplicates are part of what Twilio did.
        self.receipts.push(Receipt { team: m.team, kind: "inbound".into(), sid: Some(m.message_sid.clone()), params: m.raw.clone() });
        if self.messages.values().any(|x| x.msg.provider_sid.as_deref() == Some(&m.message_sid)) {
            return Ok(InboundOutcome::Duplicate);
        }
        let contact = self.threads.get(&m.thread).filter(|t| t.team == m.team).map(|t| t.contact).ok_or(DomainError::NotFound("thread"))?;
        let at = now();
        let msg = Message {
            id: MessageId::new(),
            team_id: m.team,
            thread_id: m.thread,
            direction: Direction::Inbound,
            channel: m.kind,
            body: m.body.clone(),
            media: m.media.clone(),
            status: MessageStatus::Received,
            provider_sid: Some(m.message_sid.clone()),
            error_code: None,
            error_reason: None,
            author_id: None,
            scheduled_at: None,
            cancel_on_reply: false,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            created_at: at,
            content: None,
        };
        let id = msg.id;
        self.messages.insert(id, MessageRow { msg, claimed_at: None, raw: Some(m.raw.clone()) });
        // The contact wrote first: their thread's cancel-on-reply messages are canceled.
        let mut canceled: Vec<(OffsetDateTime, MessageId)> = self
            .messages
            .values()
            .filter(|x| x.msg.thread_id == m.thread && x.msg.status == MessageStatus::Scheduled && x.msg.cancel_on_reply)
            .map(|x| (x.msg.created_at, x.msg.id))
            .collect();
        canceled.sort();
        for (_, c) in &canceled {
            let row = self.messages.get_mut(c).expect("listed above");
            row.msg.status = MessageStatus::Canceled;
            row.msg.error_reason = Some("canceled: the contact replied first".into());
        }
        let t = self.threads.get_mut(&m.thread).expect("checked above");
        t.last_message_at = Some(at);
        t.last_inbound_at = Some(at);
        t.last_preview = preview(&m.body, m.media.len());
        t.unread += 1;
        if let Some(out) = m.opt_out {
            let c = self.contacts.get_mut(&contact).ok_or(DomainError::NotFound("contact"))?;
            c.opted_out_at = if out { c.opted_out_at.or(Some(at)) } else { None };
        }
        let mut events = vec![self.message_event(id, event::MESSAGE_CREATED, None)?];
        for (_, c) in canceled {
            events.push(self.message_event(c, event::MESSAGE_UPDATED, None)?);
        }
        let thread = self.team_summary(m.team, m.thread)?;
        let value = self.messages[&id].msg.clone();
        Ok(InboundOutcome::Stored(Box::new(Committed { value, events, thread })))
    }
}
