//! A message's way to the carrier and back, in memory: storing it (queued and claimed, or
//! scheduled), taking it for the carrier, recording the carrier's answer (applying the status
//! callbacks that arrived first), delivery statuses forward-only, and failing a send whose
//! outcome is unknown. The `ThreadWrites` impl in `writes` calls these.

use super::{MessageRow, State, now, preview, storable};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{Committed, NewOutbound, Outgoing, SendOutcome};
use time::OffsetDateTime;

/// The states in which a message waits for the carrier's answer.
pub(super) fn waiting(status: MessageStatus) -> bool {
    matches!(status, MessageStatus::Queued | MessageStatus::Sending)
}

impl State {
    pub(super) fn create_outbound(&mut self, m: NewOutbound) -> DomainResult<Committed<Message>> {
        storable("body", &m.body)?;
        if m.body.chars().count() > crate::rules::MAX_BODY_CHARS {
            return Err(DomainError::invalid("body", "is not acceptable (messages_body_check)"));
        }
        let t = self.threads.get(&m.thread).filter(|t| t.team == m.team).ok_or(DomainError::NotFound("thread"))?;
        let kind = self.channels[&t.channel].channel.kind;
        let at = now();
        let media: Vec<Media> = m.media_urls.iter().map(|u| Media { url: u.clone(), content_type: None }).collect();
        let scheduled = m.send_at.is_some();
        let msg = Message {
            id: MessageId::new(),
            team_id: m.team,
            thread_id: m.thread,
            direction: Direction::Outbound,
            channel: kind,
            body: m.body.clone(),
            media,
            status: if scheduled { MessageStatus::Scheduled } else { MessageStatus::Queued },
            provider_sid: None,
            error_code: None,
            error_reason: None,
            author_id: m.author,
            scheduled_at: m.send_at,
            cancel_on_reply: m.cancel_on_reply,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            created_at: at,
            content: m.content.clone(),
        };
        if !scheduled {
            let t = self.threads.get_mut(&m.thread).expect("checked above");
            t.last_message_at = Some(at);
            t.last_preview = preview(&msg.body, msg.media.len());
        }
        let id = msg.id;
        // An immediate send is claimed at once: if its process dies before the carrier answers,
        // the stale sweep fails it rather than sending it twice.
        self.messages.insert(id, MessageRow { msg, claimed_at: (!scheduled).then_some(at), raw: None });
        let event = self.message_event(id, event::MESSAGE_CREATED, m.author)?;
        let thread = self.team_summary(m.team, m.thread)?;
        Ok(Committed { value: self.messages[&id].msg.clone(), events: vec![event], thread })
    }

    pub(super) fn begin_send(&mut self, message: MessageId) -> Option<Outgoing> {
        let row = self.messages.get_mut(&message).filter(|m| waiting(m.msg.status) && m.msg.provider_sid.is_none())?;
        row.claimed_at = Some(now());
        let msg = row.msg.clone();
        let t = self.threads.get(&msg.thread_id)?;
        let contact = self.contacts.get(&t.contact)?;
        let channel = self.channels.get(&t.channel)?.channel.clone();
        Some(Outgoing {
            message: msg,
            channel,
            to: contact.phone.clone(),
            opted_out: contact.opted_out_at.is_some(),
            last_inbound_at: t.last_inbound_at,
        })
    }

    pub(super) fn record_send(&mut self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>> {
        let (status, sid, code, reason) = match outcome {
            SendOutcome::Sent { sid } => (MessageStatus::Sent, Some(sid), None, None),
            SendOutcome::Failed { code, reason } => (MessageStatus::Failed, None, code, Some(reason)),
        };
        if let Some(sid) = &sid {
            storable("provider_sid", sid)?;
            if self.messages.values().any(|m| m.msg.id != message && m.msg.provider_sid.as_deref() == Some(sid)) {
                return Err(DomainError::Conflict("this already exists".into()));
            }
        }
        if let Some(reason) = &reason {
            storable("error_reason", reason)?;
        }
        let Some(row) = self.messages.get_mut(&message).filter(|m| waiting(m.msg.status)) else { return Ok(None) };
        row.msg.status = status;
        row.msg.provider_sid = sid.clone();
        row.msg.error_code = code;
        row.msg.error_reason = reason;
        row.msg.sent_at = (status == MessageStatus::Sent).then(now);
        let team = row.msg.team_id;
        let mut done = self.answer_updated(message)?;
        // Status callbacks that arrived before this answer were kept as receipts (by the team
        // whose channel verified them): apply them now, as one step forward.
        if let Some(sid) = sid {
            let receipts: Vec<serde_json::Value> = self
                .receipts
                .iter()
                .filter(|r| r.team == team && r.kind == "status" && r.sid.as_deref() == Some(&sid))
                .map(|r| r.params.clone())
                .collect();
            if let Some((status, code)) = early_outcome(&receipts)
                && let Some(later) = self.update_status(&sid, status, code, code.map(twilio_error_reason), None)?
            {
                done.events.extend(later.events);
                done.value = later.value;
                done.thread = later.thread;
            }
        }
        Ok(Some(done))
    }

    /// Moves the message with provider sid `sid` forward to `status` (never back).
    pub(super) fn update_status(
        &mut self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: Option<serde_json::Value>,
    ) -> DomainResult<Option<Committed<Message>>> {
        let Some(row) = self.messages.values_mut().find(|m| m.msg.provider_sid.as_deref() == Some(sid)) else { return Ok(None) };
        if !row.msg.status.may_become(status) {
            return Ok(None);
        }
        let at = now();
        let m = &mut row.msg;
        m.status = status;
        m.error_code = error_code.or(m.error_code);
        m.error_reason = reason.or(m.error_reason.take());
        if matches!(status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read) {
            m.sent_at = m.sent_at.or(Some(at));
        }
        if matches!(status, MessageStatus::Delivered | MessageStatus::Read) {
            m.delivered_at = m.delivered_at.or(Some(at));
        }
        if status == MessageStatus::Read {
            m.read_at = Some(at);
        }
        if raw.is_some() {
            row.raw = raw;
        }
        let id = row.msg.id;
        self.status_updated(id).map(Some)
    }

    pub(super) fn fail_unknown(&mut self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>> {
        let stale = |m: &MessageRow| waiting(m.msg.status) && m.msg.provider_sid.is_none() && m.claimed_at.is_some_and(|c| c < older_than);
        let Some(row) = self.messages.get_mut(&message).filter(|m| stale(m)) else { return Ok(None) };
        row.msg.status = MessageStatus::Failed;
        row.msg.error_reason = Some("outcome unknown: the server stopped while sending; not retried to avoid a duplicate".into());
        self.message_updated(message, None).map(Some)
    }
}

impl State {
    /// A lost send answer repaired by a status callback: a message still waiting, or failed as
    /// "outcome unknown", takes the sid and becomes `sent`.
    pub(super) fn adopt_sid(&mut self, message: MessageId, sid: &str) -> DomainResult<Option<Committed<Message>>> {
        storable("provider_sid", sid)?;
        let unknown = |m: &MessageRow| {
            m.msg.status == MessageStatus::Failed && m.msg.error_reason.as_deref().is_some_and(|r| r.starts_with("outcome unknown"))
        };
        let Some(row) = self
            .messages
            .get_mut(&message)
            .filter(|m| m.msg.direction == Direction::Outbound && m.msg.provider_sid.is_none() && (waiting(m.msg.status) || unknown(m)))
        else {
            return Ok(None);
        };
        row.msg.status = MessageStatus::Sent;
        row.msg.provider_sid = Some(sid.to_owned());
        row.msg.error_code = None;
        row.msg.error_reason = None;
        row.msg.sent_at = row.msg.sent_at.or(Some(now()));
        self.message_updated(message, None).map(Some)
    }
}

/// The status that early status callbacks add up to, applied forward-only in arrival order from
/// `sent`, with the error code of the one that decided it.
fn early_outcome(receipts: &[serde_json::Value]) -> Option<(MessageStatus, Option<i32>)> {
    let mut best = None;
    let mut current = MessageStatus::Sent;
    for params in receipts {
        let Some(status) = params["MessageStatus"].as_str().and_then(MessageStatus::from_twilio) else { continue };
        if current.may_become(status) {
            current = status;
            let code = params["ErrorCode"].as_str().and_then(|c| c.parse::<i32>().ok()).filter(|c| *c != 0);
            best = Some((status, code));
        }
    }
    best
}
