//! The in-memory fakes keep no campaigns: `NoCampaigns` answers every campaign call with
//! Unavailable (the campaign runner then sends nothing). Campaigns are tested against Postgres
//! (tests/store, tests/e2e/campaigns.rs) and their rules in `rules::campaigns`.

use crate::domain::Contact;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use crate::rules::campaigns::{Audience, Campaign, CampaignCounts, CampaignStatus};
use async_trait::async_trait;
use time::OffsetDateTime;

/// A campaign store that has none.
pub struct NoCampaigns;

#[async_trait]
impl CampaignStore for NoCampaigns {
    async fn take_pace(&self, _: &str, _: f64, _: u32, _: std::time::Duration) -> DomainResult<u32> {
        Err(DomainError::Unavailable)
    }
    async fn agents_slowed(&self, slow_here: bool, _: std::time::Duration) -> DomainResult<bool> {
        Ok(slow_here)
    }
    async fn create_campaign(&self, _: TeamId, _: UserId, _: &NewCampaign) -> DomainResult<Campaign> {
        Err(DomainError::Unavailable)
    }
    async fn campaign(&self, _: TeamId, _: CampaignId) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn campaigns(&self, _: TeamId, _: Option<&str>, _: i64) -> DomainResult<Page<Campaign>> {
        Ok(Page { items: vec![], next_cursor: None })
    }
    async fn update_campaign(&self, _: TeamId, _: CampaignId, _: &CampaignPatch) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn set_campaign_status(&self, _: TeamId, _: CampaignId, _: &[CampaignStatus], _: CampaignStatus) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn fail_campaign(&self, _: TeamId, _: CampaignId, _: CampaignStatus, _: &str) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn start_campaign(&self, _: TeamId, _: CampaignId, _: &StartPlan) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn delete_campaign(&self, _: TeamId, _: CampaignId) -> DomainResult<Campaign> {
        Err(DomainError::NotFound("campaign"))
    }
    async fn campaign_counts(&self, _: CampaignId) -> DomainResult<CampaignCounts> {
        Ok(CampaignCounts::default())
    }
    async fn campaign_recipients(&self, _: TeamId, _: CampaignId, _: i64, _: i64) -> DomainResult<Vec<RecipientRow>> {
        Ok(vec![])
    }
    async fn audience_sample(&self, _: TeamId, _: &Audience, _: i64) -> DomainResult<Vec<Contact>> {
        Ok(vec![])
    }
    async fn running_campaigns(&self) -> DomainResult<Vec<Campaign>> {
        Ok(vec![])
    }
    async fn due_campaigns(&self, _: OffsetDateTime) -> DomainResult<Vec<Campaign>> {
        Ok(vec![])
    }
    async fn claim_recipients(&self, _: CampaignId, _: i64, _: OffsetDateTime) -> DomainResult<Vec<ClaimedRecipient>> {
        Ok(vec![])
    }
    async fn campaign_threads(&self, _: TeamId, _: ChannelId, _: &[ContactId]) -> DomainResult<Vec<(ContactId, ThreadId)>> {
        Ok(vec![])
    }
    async fn requeue_recipients(&self, _: &[(i64, Option<OffsetDateTime>)]) -> DomainResult<()> {
        Ok(())
    }
    async fn skip_recipients(&self, _: &[i64], _: &str) -> DomainResult<()> {
        Ok(())
    }
    async fn requeue_stale_claims(&self, _: OffsetDateTime) -> DomainResult<u64> {
        Ok(0)
    }
    async fn fold_campaign_counts(&self) -> DomainResult<u64> {
        Ok(0)
    }
    async fn finish_campaigns(&self) -> DomainResult<Vec<Campaign>> {
        Ok(vec![])
    }
    async fn claim_metrics(&self, _: std::time::Duration) -> DomainResult<Vec<(CampaignId, TeamId)>> {
        Ok(vec![])
    }
}
