//! Ports of channels (a team's numbers, found again by webhooks) and analytics.

use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A channel to add to a team.
#[derive(Debug)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub number: String,
    pub account_sid: String,
    pub auth_token: String,
    pub messaging_service_sid: Option<String>,
    pub simulated: bool,
}

/// Reads of a team's channels, and the lookups of the Twilio webhooks.
#[async_trait]
pub trait ChannelReads: Send + Sync {
    /// The team's live channels.
    async fn channels(&self, team: TeamId) -> DomainResult<Vec<Channel>>;
    /// Every live channel that may receive at `number` for `account_sid` (or through the
    /// messaging service), the number's own first. Several teams may have configured the same
    /// account and number: the webhook goes to the one whose auth token verifies its signature.
    async fn channels_for_webhook(
        &self,
        account_sid: &str,
        number: Option<&str>,
        kind: ChannelKind,
        service_sid: Option<&str>,
    ) -> DomainResult<Vec<Channel>>;
    /// callbacks).
    async fn message_for_sid(&self, sid: &str) -> DomainResult<Option<(Channel, ThreadId, MessageStatus)>>;
    /// The sending channel and thread of an outbound message, by our id (the id our status
    /// callback URL names): how a callback for a send whose answer was lost finds its message.
    async fn message_channel(&self, message: MessageId) -> DomainResult<Option<(Channel, ThreadId)>>;
}

/// Writes to channels, and the raw receipts of verified webhooks.
#[async_trait]
pub trait ChannelWrites: Send + Sync {
    /// Adds a channel (Conflict if that number is already configured).
    async fn create_channel(&self, team: TeamId, ch: NewChannel) -> DomainResult<Channel>;
    /// Removes a channel (soft delete: its threads stay readable).
    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> DomainResult<()>;
    /// Stores a verified webhook exactly as received.
    async fn record_receipt(&self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) -> DomainResult<()>;
}

/// One row of the message export.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportRow {
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub thread_id: ThreadId,
    pub contact_name: String,
    pub contact_phone: String,
    pub channel: ChannelKind,
    pub direction: Direction,
    pub status: MessageStatus,
    pub body: String,
    pub error_code: Option<i32>,
    pub error_reason: Option<String>,
}

/// Dashboard numbers and exports.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The team's dashboard summary as JSON (counts, rates, response times).
    async fn summary(&self, team: TeamId) -> DomainResult<serde_json::Value>;
    /// The team's messages since `since`, oldest first.
    async fn export(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ExportRow>>;
}
