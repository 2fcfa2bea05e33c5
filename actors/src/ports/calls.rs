//! Ports of calls: a channel's voice settings, and a call's outcome recorded once per CallSid on
//! its thread (with the claim of the once-per-period missed-call reply, in the same commit).

use super::Committed;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;

/// A call's outcome to record on its thread.
#[derive(Clone, Debug)]
pub struct NewCall {
    pub team: TeamId,
    pub thread: ThreadId,
    pub call_sid: String,
    pub direction: Direction,
    pub outcome: CallOutcome,
    pub duration: i32,
    pub recording_url: Option<String>,
    /// The verified webhook's parameters.
    pub raw: serde_json::Value,
    /// Claim the channel's missed-call reply to this contact, unless one was sent within the
    /// period (the claim and the call commit together).
    pub reply: Option<ReplyClaim>,
}

/// "One automatic reply of this kind per contact per channel per period".
#[derive(Clone, Copy, Debug)]
pub struct ReplyClaim {
    pub kind: AutoReplyKind,
    pub channel: ChannelId,
    pub contact: ContactId,
    pub period: time::Duration,
}

/// What recording a call did.
#[derive(Clone, Debug)]
pub struct CallRecorded {
    pub call: Call,
    /// The reply was claimed: the caller sends it.
    pub reply_claimed: bool,
}

/// Reads of calls and voice settings.
#[async_trait]
pub trait CallReads: Send + Sync {
    /// A live channel's voice settings (NotFound outside the team).
    async fn channel_settings(&self, team: TeamId, channel: ChannelId) -> DomainResult<ChannelSettings>;
    /// A thread's calls, oldest first.
    async fn calls(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<Call>>;
}

/// Writes of calls and voice settings.
#[async_trait]
pub trait CallWrites: Send + Sync {
    /// Replaces a live channel's voice settings (checked by `rules::calls::apply_settings`).
    async fn set_channel_settings(&self, team: TeamId, channel: ChannelId, settings: &ChannelSettings) -> DomainResult<ChannelSettings>;
    /// Records a call's outcome and its `call` event, bumping the thread in the inbox; `None`
    /// when the CallSid was recorded before (a retried or later callback: nothing is written).
    async fn record_call(&self, call: NewCall) -> DomainResult<Option<Committed<CallRecorded>>>;
}
