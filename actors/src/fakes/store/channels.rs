//! `ChannelStore` in memory: a team's numbers (one live channel per account, number and kind;
//! deleting is soft), the webhook lookups, and webhook receipts (which `record_send` reads back
//! for status callbacks that arrived before the send's answer).

use super::{ChannelRow, MemoryStore, Receipt, State, e164, now};
use crate::domain::{Channel, ChannelKind, MessageStatus};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{ChannelReads, ChannelWrites, NewChannel};
use async_trait::async_trait;

/// The schema's check of a Twilio sid: a prefix and 32 letters or digits.
fn sid(field: &'static str, prefix: &str, value: &str) -> DomainResult<()> {
    let ok = value.len() == 34 && value.starts_with(prefix) && value[2..].bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(DomainError::invalid(field, format!("is not acceptable (channels_{field}_check)")));
    }
    Ok(())
}

#[async_trait]
impl ChannelReads for MemoryStore {
    async fn channels(&self, team: TeamId) -> DomainResult<Vec<Channel>> {
        self.enter("channels").await?;
        let s = self.state();
        let mut rows: Vec<&ChannelRow> = s.channels.values().filter(|c| c.channel.team_id == team && !c.deleted).collect();
        rows.sort_by_key(|c| (c.channel.simulated, c.channel.kind.as_str(), c.created_at, c.channel.id));
        Ok(rows.into_iter().map(|c| c.channel.clone()).collect())
    }

    async fn channels_for_webhook(
        &self,
        account_sid: &str,
        number: Option<&str>,
        kind: ChannelKind,
        service_sid: Option<&str>,
    ) -> DomainResult<Vec<Channel>> {
        self.enter("channels_for_webhook").await?;
        let s = self.state();
        // The receiving number identifies the channel; a messaging service is the fallback.
        let live = || s.channels.values().filter(|c| !c.deleted && c.channel.account_sid == account_sid && c.channel.kind == kind);
        let by_number = |c: &&ChannelRow| number.is_some_and(|n| c.channel.number == n);
        let by_service = |c: &&ChannelRow| service_sid.is_some_and(|sv| c.channel.messaging_service_sid.as_deref() == Some(sv));
        let mut found: Vec<&ChannelRow> = live().filter(by_number).collect();
        found.extend(live().filter(|c| !by_number(c) && by_service(c)));
        Ok(found.into_iter().map(|c| c.channel.clone()).collect())
    }

    async fn message_for_sid(&self, sid: &str) -> DomainResult<Option<(Channel, ThreadId, MessageStatus)>> {
        self.enter("message_for_sid").await?;
        let s = self.state();
        let Some(m) = s.messages.values().find(|m| m.msg.provider_sid.as_deref() == Some(sid)) else { return Ok(None) };
        let channel = s.threads.get(&m.msg.thread_id).and_then(|t| s.channels.get(&t.channel)).map(|c| c.channel.clone());
        Ok(channel.map(|c| (c, m.msg.thread_id, m.msg.status)))
    }

    async fn message_channel(&self, message: MessageId) -> DomainResult<Option<(Channel, ThreadId)>> {
        self.enter("message_channel").await?;
        let s = self.state();
        let Some(m) = s.messages.get(&message).filter(|m| m.msg.direction == crate::domain::Direction::Outbound) else { return Ok(None) };
        let channel = s.threads.get(&m.msg.thread_id).and_then(|t| s.channels.get(&t.channel)).map(|c| c.channel.clone());
        Ok(channel.map(|c| (c, m.msg.thread_id)))
    }
}

#[async_trait]
impl ChannelWrites for MemoryStore {
    async fn create_channel(&self, team: TeamId, ch: NewChannel) -> DomainResult<Channel> {
        self.enter("create_channel").await?;
        e164("number", &ch.number)?;
        sid("account_sid", "AC", &ch.account_sid)?;
        if let Some(service) = &ch.messaging_service_sid {
            sid("messaging_service_sid", "MG", service)?;
        }
        let mut s = self.state();
        if !s.teams.contains_key(&team) {
            return Err(DomainError::invalid("request", "is not acceptable (channels_team_id_fkey)"));
        }
        let taken = s
            .channels
            .values()
            .any(|c| !c.deleted && c.channel.account_sid == ch.account_sid && c.channel.number == ch.number && c.channel.kind == ch.kind);
        if taken {
            return Err(DomainError::Conflict("this number is already configured".into()));
        }
        let channel = Channel {
            id: ChannelId::new(),
            team_id: team,
            kind: ch.kind,
            number: ch.number,
            account_sid: ch.account_sid,
            auth_token: ch.auth_token.into(),
            messaging_service_sid: ch.messaging_service_sid,
            simulated: ch.simulated,
        };
        s.channels.insert(channel.id, ChannelRow { channel: channel.clone(), created_at: now(), deleted: false });
        Ok(channel)
    }

    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> DomainResult<()> {
        self.enter("delete_channel").await?;
        let mut s = self.state();
        let row = s.channels.get_mut(&id).filter(|c| c.channel.team_id == team && !c.deleted).ok_or(DomainError::NotFound("channel"))?;
        row.deleted = true;
        Ok(())
    }

    async fn record_receipt(&self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) -> DomainResult<()> {
        self.enter("record_receipt").await?;
        if !matches!(kind, "inbound" | "status") {
            return Err(DomainError::invalid("kind", "is not acceptable (webhook_receipts_kind_check)"));
        }
        self.state().keep_receipt(team, kind, sid, params);
        Ok(())
    }
}

impl State {
    /// Keeps a webhook's params; a status receipt once per (team, sid, status), as the unique
    /// index keeps it.
    pub(super) fn keep_receipt(&mut self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) {
        let status = &params["MessageStatus"];
        let kept = kind == "status"
            && self
                .receipts
                .iter()
                .any(|r| r.team == team && r.kind == "status" && r.sid.as_deref() == sid && &r.params["MessageStatus"] == status);
        if !kept {
            self.receipts.push(Receipt { team, kind: kind.to_owned(), sid: sid.map(str::to_owned), params });
        }
    }
}
