//! The carrier that sends messages (Twilio, or the simulator).

use crate::domain::*;
use async_trait::async_trait;

/// A message for the carrier.
#[derive(Clone, Debug)]
pub struct CarrierRequest {
    pub channel: Channel,
    pub to: String,
    pub body: String,
    pub media_urls: Vec<String>,
    pub status_callback: String,
    /// An approved template: Twilio gets `ContentSid` and `ContentVariables` (and no `Body`).
    pub content: Option<crate::rules::message_templates::ContentRef>,
    /// When the contact last wrote: the simulator plays WhatsApp's 24-hour window with it.
    pub last_inbound_at: Option<time::OffsetDateTime>,
}

/// A carrier refusal.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{reason}")]
pub struct CarrierError {
    pub code: Option<i32>,
    pub reason: String,
}

/// Sends messages: Twilio, or the simulator.
#[async_trait]
pub trait Carrier: Send + Sync {
    /// Sends one message and answers with the provider sid. Retries are the carrier's business.
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError>;
}
