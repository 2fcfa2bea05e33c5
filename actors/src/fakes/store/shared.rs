//! What the fake's writers share, as the Postgres store's SQL fragments are shared: a thread's
//! inbox row (for any team, one team, one reader), appending an event with the thread's next
//! seq, a message's `message.updated` (whole, or a status change), the audit log, and finding
//! or creating a contact's thread.

use super::*;

impl State {
    /// A thread's inbox row, any team.
    pub(super) fn summary(&self, id: ThreadId) -> Option<ThreadSummary> {
        let t = self.threads.get(&id)?;
        let contact = self.contacts.get(&t.contact)?;
        let channel = &self.channels.get(&t.channel)?.channel;
        let scheduled_count =
            self.messages.values().filter(|m| m.msg.thread_id == id && m.msg.status == MessageStatus::Scheduled).count() as i64;
        Some(ThreadSummary {
            id,
            team_id: t.team,
            contact: ContactBrief {
                id: contact.id,
                name: contact.name.clone(),
                phone: contact.phone.clone(),
                opted_out_at: contact.opted_out_at,
            },
            channel: ChannelBrief { id: channel.id, kind: channel.kind, number: channel.number.clone() },
            status: t.status,
            snoozed_until: t.snoozed_until,
            assignee_id: t.assignee,
            assignee_name: t.assignee.and_then(|u| self.users.get(&u)).map(|u| u.user.name.clone()),
            unread_count: t.unread,
            last_message_at: t.last_message_at,
            last_preview: t.last_preview.clone(),
            last_seq: t.last_seq,
            scheduled_count,
            created_at: t.created_at,
            priority: t.priority,
            label_ids: {
                let mut ids = t.labels.clone();
                ids.sort();
                ids
            },
            last_inbound_at: t.last_inbound_at,
            whatsapp_window_closes_at: crate::rules::whatsapp::window_closes_at(channel.kind, t.last_inbound_at, now()),
            marked_unread: None,
        })
    }

    /// A thread's inbox row within a team; another team's thread is "not found".
    pub(super) fn team_summary(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary> {
        self.summary(id).filter(|s| s.team_id == team).ok_or(DomainError::NotFound("thread"))
    }

    /// Appends one event, with the thread's next seq.
    pub(super) fn append(
        &mut self,
        team: TeamId,
        thread: ThreadId,
        kind: &str,
        actor: Option<UserId>,
        audience: Option<UserId>,
        data: serde_json::Value,
    ) -> DomainResult<ThreadEvent> {
        let t = self.threads.get_mut(&thread).filter(|t| t.team == team).ok_or(DomainError::NotFound("thread"))?;
        t.last_seq += 1;
        let event = ThreadEvent {
            seq: t.last_seq,
            thread_id: thread,
            team_id: team,
            kind: kind.to_owned(),
            actor_id: actor,
            audience,
            data,
            created_at: now(),
        };
        self.events.entry(thread).or_default().push(event.clone());
        Ok(event)
    }

    /// Appends a `message.*` event carrying the message as it is now.
    pub(super) fn message_event(&mut self, id: MessageId, kind: &str, actor: Option<UserId>) -> DomainResult<ThreadEvent> {
        let msg = self.messages.get(&id).ok_or(DomainError::NotFound("message"))?.msg.clone();
        let data = serde_json::to_value(&msg).map_err(|e| DomainError::Internal(e.to_string()))?;
        self.append(msg.team_id, msg.thread_id, kind, actor, None, data)
    }

    /// After a message changed: its `message.updated` event and the thread's new row.
    pub(super) fn message_updated(&mut self, id: MessageId, actor: Option<UserId>) -> DomainResult<Committed<Message>> {
        let event = self.message_event(id, event::MESSAGE_UPDATED, actor)?;
        let msg = self.messages[&id].msg.clone();
        let thread = self.team_summary(msg.team_id, msg.thread_id)?;
        Ok(Committed { value: msg, events: vec![event], thread })
    }

    /// After a carrier's status callback moved a message: `message.updated` with what a status
    /// change moves (`Message::status_change`), and the thread's new row.
    pub(super) fn status_updated(&mut self, id: MessageId) -> DomainResult<Committed<Message>> {
        self.changed(id, Message::status_change)
    }

    /// After the carrier answered a send: `message.updated` with the status change and the sid
    /// (`Message::answer_change`), and the thread's new row.
    pub(super) fn answer_updated(&mut self, id: MessageId) -> DomainResult<Committed<Message>> {
        self.changed(id, Message::answer_change)
    }

    fn changed(&mut self, id: MessageId, payload: fn(&Message) -> serde_json::Value) -> DomainResult<Committed<Message>> {
        let msg = self.messages.get(&id).ok_or(DomainError::NotFound("message"))?.msg.clone();
        let event = self.append(msg.team_id, msg.thread_id, event::MESSAGE_UPDATED, None, None, payload(&msg))?;
        let thread = self.team_summary(msg.team_id, msg.thread_id)?;
        Ok(Committed { value: msg, events: vec![event], thread })
    }

    /// Appends an audit entry, as the Postgres store's `audit_log` rows.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn audit_push(
        &mut self,
        team: Option<TeamId>,
        actor: Option<UserId>,
        action: &str,
        target_type: &str,
        target_id: Option<String>,
        client: &crate::audit::Client,
        details: serde_json::Value,
    ) {
        let entry = crate::audit::AuditEntry {
            id: self.audit.len() as i64 + 1,
            action: action.to_owned(),
            actor_id: actor,
            actor_name: actor.and_then(|a| self.users.get(&a)).map(|u| u.user.name.clone()),
            target_type: Some(target_type.to_owned()),
            target_id,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            created_at: now(),
            details,
        };
        self.audit.push(entry);
        self.audit_teams.push(team);
    }

    /// The principal of an active user (a deactivated one authenticates nothing).
    pub(super) fn principal(&self, user: UserId) -> DomainResult<crate::ports::Principal> {
        let user = self.users.get(&user).filter(|u| u.deactivated_at.is_none()).ok_or(DomainError::NotFound("user"))?.user.clone();
        let team = self.team_row(user.team_id)?;
        let two_factor_enrollment_due =
            self.two_factor_teams.contains(&team.id) && !self.two_factor.get(&user.id).is_some_and(|r| r.enabled());
        Ok(crate::ports::Principal { user, team, two_factor_enrollment_due })
    }

    pub(super) fn team_row(&self, team: TeamId) -> DomainResult<Team> {
        let name = self.teams.get(&team).ok_or(DomainError::NotFound("team"))?.clone();
        let simulator_mode = !self.channels.values().any(|c| c.channel.team_id == team && !c.channel.simulated && !c.deleted);
        Ok(Team { id: team, name, simulator_mode, default_country: self.default_countries.get(&team).cloned() })
    }

    /// The thread of (team, contact, channel), created if missing; says whether it was created.
    pub(super) fn upsert_thread(&mut self, team: TeamId, contact: ContactId, channel: ChannelId) -> (ThreadId, bool) {
        if let Some(t) = self.threads.values().find(|t| t.team == team && t.contact == contact && t.channel == channel) {
            return (t.id, false);
        }
        let id = ThreadId::new();
        self.threads.insert(
            id,
            ThreadRow {
                id,
                team,
                contact,
                channel,
                status: ThreadStatus::Open,
                snoozed_until: None,
                assignee: None,
                unread: 0,
                last_message_at: None,
                last_preview: String::new(),
                last_seq: 0,
                created_at: now(),
                priority: Priority::None,
                labels: Vec::new(),
                last_inbound_at: None,
            },
        );
        (id, true)
    }

    /// Deletes threads with everything that hangs off them (ON DELETE CASCADE).
    pub(super) fn delete_threads(&mut self, ids: &[ThreadId]) {
        for id in ids {
            self.threads.remove(id);
            self.events.remove(id);
        }
        self.messages.retain(|_, m| !ids.contains(&m.msg.thread_id));
        self.notes.retain(|n| !ids.contains(&n.thread_id));
        self.unread_marks.retain(|(_, t)| !ids.contains(t));
    }

    /// A thread's row for one reader: with whether they marked it unread.
    pub(super) fn reader_summary(&self, team: TeamId, id: ThreadId, reader: UserId) -> DomainResult<ThreadSummary> {
        let mut summary = self.team_summary(team, id)?;
        summary.marked_unread = Some(self.unread_marks.contains(&(reader, id)));
        Ok(summary)
    }
}
