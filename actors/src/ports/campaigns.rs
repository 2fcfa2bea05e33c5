//! Ports of campaigns: the campaigns themselves (every status change a conditional write, so
//! two nodes or two tabs cannot both move one), the audience snapshot taken when one starts,
//! the runner's claims of recipients (`FOR UPDATE SKIP LOCKED`, any node), and counts.

use super::Page;
use crate::domain::Contact;
use crate::error::DomainResult;
use crate::ids::*;
use crate::rules::campaigns::{Audience, Campaign, CampaignCounts, CampaignStatus};
use crate::rules::quiet_hours::QuietHours;
use async_trait::async_trait;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A new draft.
#[derive(Clone, Debug)]
pub struct NewCampaign {
    pub name: String,
    pub channel: ChannelId,
    pub body: Option<String>,
    pub template_id: Option<uuid::Uuid>,
    pub content_template_id: Option<TemplateId>,
    pub content_variables: BTreeMap<String, String>,
    pub quiet_hours: Option<QuietHours>,
    pub audience: Audience,
    pub send_at: Option<OffsetDateTime>,
}

/// A change to a draft or scheduled campaign (`None`: unchanged; `send_at: Some(None)` clears).
#[derive(Clone, Debug, Default)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub channel: Option<ChannelId>,
    /// Content: `Some` replaces body, template and approved template (with its values) at once.
    pub content: Option<CampaignContent>,
    /// The approved template's fixed values alone (content unchanged).
    pub content_variables: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears.
    pub quiet_hours: Option<Option<QuietHours>>,
    pub audience: Option<Audience>,
    pub send_at: Option<Option<OffsetDateTime>>,
}

/// A campaign's content: exactly one of them is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampaignContent {
    pub body: Option<String>,
    pub template_id: Option<uuid::Uuid>,
    pub content_template_id: Option<TemplateId>,
    pub content_variables: BTreeMap<String, String>,
}

/// What starting a campaign fixes: the text every recipient gets (rendered per contact; `None`
/// for an approved template, read by the runner), and whether contacts outside the WhatsApp
/// 24-hour window are skipped (a free-form WhatsApp message).
#[derive(Clone, Debug)]
pub struct StartPlan {
    pub body: Option<String>,
    pub skip_outside_window: bool,
}

/// A recipient claimed for sending, with what its message needs.
#[derive(Clone, Debug)]
pub struct ClaimedRecipient {
    pub id: i64,
    /// The claim this node holds: the message is created only under it.
    pub claim: uuid::Uuid,
    pub contact: Contact,
}

/// One recipient as the CSV export lists it.
#[derive(Clone, Debug)]
pub struct RecipientRow {
    pub id: i64,
    pub contact_id: ContactId,
    pub name: String,
    pub phone: String,
    pub status: String,
    pub skip_reason: Option<String>,
    pub error_code: Option<i32>,
    pub error_reason: Option<String>,
    pub message_id: Option<MessageId>,
    pub replied_at: Option<OffsetDateTime>,
    pub opted_out_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// Campaigns in Postgres.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    async fn create_campaign(&self, team: TeamId, by: UserId, c: &NewCampaign) -> DomainResult<Campaign>;
    /// One live (not deleted) campaign of the team.
    async fn campaign(&self, team: TeamId, id: CampaignId) -> DomainResult<Campaign>;
    /// The team's live campaigns, newest first (keyset cursor).
    async fn campaigns(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Campaign>>;
    /// Applies a patch while the campaign is still `draft` or `scheduled` (Conflict otherwise:
    /// checked in the statement, so a start racing an edit wins or loses whole).
    async fn update_campaign(&self, team: TeamId, id: CampaignId, patch: &CampaignPatch) -> DomainResult<Campaign>;
    /// Moves a campaign from one of `from` to `to` (Conflict when it is in none of them);
    /// `canceled` also skips every recipient still queued, so none is left behind.
    async fn set_campaign_status(
        &self,
        team: TeamId,
        id: CampaignId,
        from: &[CampaignStatus],
        to: CampaignStatus,
    ) -> DomainResult<Campaign>;
    /// Moves a campaign that is still `from` to `failed` with `failure` (why), skipping every
    /// recipient still queued (`campaign_failed`); Conflict when it moved meanwhile.
    async fn fail_campaign(&self, team: TeamId, id: CampaignId, from: CampaignStatus, failure: &str) -> DomainResult<Campaign>;
    /// Starts a `draft` or `scheduled` campaign: one transaction fixes its recipients with
    /// set-based statements (opted-out and duplicate contacts, and with `skip_outside_window`
    /// contacts outside the WhatsApp window, are skipped with their reason) and answers the
    /// running campaign.
    async fn start_campaign(&self, team: TeamId, id: CampaignId, plan: &StartPlan) -> DomainResult<Campaign>;
    /// Soft-deletes a campaign that is not running.
    async fn delete_campaign(&self, team: TeamId, id: CampaignId) -> DomainResult<Campaign>;
    /// A campaign's counts, from its recipients.
    async fn campaign_counts(&self, id: CampaignId) -> DomainResult<CampaignCounts>;
    /// Recipients after id `after`, in id order (the CSV export pages with it).
    async fn campaign_recipients(&self, team: TeamId, id: CampaignId, after: i64, limit: i64) -> DomainResult<Vec<RecipientRow>>;
    /// The first contacts the audience names (the preview), in the snapshot's order.
    async fn audience_sample(&self, team: TeamId, audience: &Audience, limit: i64) -> DomainResult<Vec<Contact>>;

    /// Every running campaign (any team): what the runners send.
    async fn running_campaigns(&self) -> DomainResult<Vec<Campaign>>;
    /// Scheduled campaigns whose `send_at` has come.
    async fn due_campaigns(&self, now: OffsetDateTime) -> DomainResult<Vec<Campaign>>;
    /// Claims up to `limit` queued recipients of a running campaign with `FOR UPDATE SKIP
    /// LOCKED` (each recipient once across nodes): a contact who opted out (or was deleted)
    /// since the start is skipped instead.
    /// Only recipients whose hold (`not_before`) ended by `now` are taken.
    async fn claim_recipients(&self, campaign: CampaignId, limit: i64, now: OffsetDateTime) -> DomainResult<Vec<ClaimedRecipient>>;
    /// Gives claimed recipients back to the queue unsent: each `(id, Some(until))` held until
    /// then (quiet hours), each `(id, None)` as it was (claimed beyond what may go now).
    async fn requeue_recipients(&self, recipients: &[(i64, Option<OffsetDateTime>)]) -> DomainResult<()>;
    /// The contacts' threads on the channel, created quietly when missing (no event, no inbox
    /// row: a thread shows in the inbox once the contact writes).
    async fn campaign_threads(&self, team: TeamId, channel: ChannelId, contacts: &[ContactId]) -> DomainResult<Vec<(ContactId, ThreadId)>>;
    /// Takes up to `want` sends of `sender`'s campaign pace (`per_second`, at most a `burst`
    /// of time ahead), shared by every node: answers how many may go now.
    async fn take_pace(&self, sender: &str, per_second: f64, want: u32, burst: std::time::Duration) -> DomainResult<u32>;
    /// Tells every node that this one's agents were slow (when `slow_here`, for `hold`), and
    /// answers whether any node's were (campaigns everywhere yield to them).
    async fn agents_slowed(&self, slow_here: bool, hold: std::time::Duration) -> DomainResult<bool>;
    /// Skips claimed recipients with `reason` (invalid number, missing variables).
    async fn skip_recipients(&self, ids: &[i64], reason: &str) -> DomainResult<()>;
    /// Puts claims that never became a message back in the queue: their node died (or the
    /// hand-off failed) before the message existed, so nothing was sent.
    async fn requeue_stale_claims(&self, older_than: OffsetDateTime) -> DomainResult<u64>;
    /// Folds the count rows left by database connections that are gone into one row per
    /// outcome (counts are kept one row per outcome and connection, and a pool replaces its
    /// connections over a long campaign); answers how many rows it folded.
    async fn fold_campaign_counts(&self) -> DomainResult<u64>;
    /// Running campaigns with nothing queued or sending become `done`; answers them.
    async fn finish_campaigns(&self) -> DomainResult<Vec<Campaign>>;
    /// Takes the right to publish metrics for the campaigns that may have changed (active ones,
    /// and ones finished in the last ten minutes, whose delivery statuses still arrive): at most
    /// one node per campaign per `every`.
    async fn claim_metrics(&self, every: std::time::Duration) -> DomainResult<Vec<(CampaignId, TeamId)>>;
}
