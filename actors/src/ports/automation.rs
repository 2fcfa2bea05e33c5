//! Ports of automation: a team's business hours and rules (read together, one statement, for the
//! per-node cache), their changes, the recent inbound messages a dry run looks at, and the two
//! claims that make automation happen once: a rule's firing per message, and an automatic
//! reply per contact, channel and period.

use super::{Actor, ReplyClaim};
use crate::domain::ChannelKind;
use crate::error::DomainResult;
use crate::ids::*;
use crate::rules::automation::{Rule, RuleDraft};
use crate::rules::hours::HoursSettings;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A team's automation as stored: its hours (`None` when never set) and every rule, in order.
#[derive(Clone, Debug, Default)]
pub struct StoredAutomation {
    pub hours: Option<HoursSettings>,
    pub rules: Vec<Rule>,
}

/// A recent inbound message, as a dry run sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InboundSample {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
    pub channel_id: ChannelId,
    pub channel_kind: ChannelKind,
    pub contact_name: String,
    #[serde(skip)]
    pub contact_tags: Vec<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the edge reads of automation.
#[async_trait]
pub trait AutomationReads: Send + Sync {
    /// A thread's `rule.fired` events, oldest first (its newest 100): the thread view shows them.
    async fn rule_firings(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<crate::domain::ThreadEvent>>;
}

#[async_trait]
pub trait AutomationStore: Send + Sync {
    /// The team's hours and rules, in one read.
    async fn automation(&self, team: TeamId) -> DomainResult<StoredAutomation>;
    async fn set_business_hours(&self, team: TeamId, hours: &HoursSettings) -> DomainResult<()>;
    /// A rule at the end of the team's order (Conflict beyond `max` rules).
    async fn create_rule(&self, team: TeamId, rule: &RuleDraft, max: usize) -> DomainResult<Rule>;
    async fn update_rule(&self, team: TeamId, id: RuleId, rule: &RuleDraft) -> DomainResult<Rule>;
    /// Deletes a rule, audit-logged in the same transaction.
    async fn delete_rule(&self, by: &Actor, id: RuleId) -> DomainResult<Rule>;
    /// Puts the team's rules in this order (every rule named once: checked by the caller).
    async fn reorder_rules(&self, team: TeamId, ids: &[RuleId]) -> DomainResult<()>;
    /// The team's newest inbound messages, newest first.
    async fn recent_inbound(&self, team: TeamId, limit: i64) -> DomainResult<Vec<InboundSample>>;
    /// Claims the firing of each of `rules` on `message` (one row per rule and message): answers
    /// the rules claimed now, in the order given; a rule claimed before (a retry, another node)
    /// is left out.
    async fn claim_firings(&self, team: TeamId, thread: ThreadId, message: MessageId, rules: &[RuleId]) -> DomainResult<Vec<RuleId>>;
    /// Claims an automatic reply unless one of its kind went to the contact on the channel
    /// within the period; true when claimed (the caller sends it).
    async fn claim_auto_reply(&self, claim: ReplyClaim) -> DomainResult<bool>;
}
