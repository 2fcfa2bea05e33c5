//! A campaign that fails (the runner can never start or go on with it) keeps why, ends, and
//! leaves nobody queued: what was not sent is skipped `campaign_failed`. Only a campaign still
//! in the status the runner saw fails; one that moved meanwhile is left as it is.

use crate::*;
use actors::error::DomainError;
use actors::ports::CampaignStore;
use actors::rules::campaigns::{Audience, CampaignStatus};

#[sqlx::test]
async fn a_failed_campaign_keeps_why_and_skips_whoever_was_still_queued(pool: sqlx::PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let other = store.create_contact(p.team.id, &NewContact::basic("D", "+14155550101")).await.unwrap();
    let sms = store.channels(p.team.id).await.unwrap().into_iter().find(|c| c.kind == ChannelKind::Sms).unwrap();
    let new = NewCampaign {
        name: "Spring".into(),
        channel: sms.id,
        body: Some("Hi".into()),
        template_id: None,
        content_template_id: None,
        content_variables: Default::default(),
        quiet_hours: None,
        audience: Audience::ContactIds(vec![other.id]),
        send_at: None,
    };
    let c = store.create_campaign(p.team.id, p.user.id, &new).await.unwrap();
    let plan = StartPlan { body: Some("Hi".into()), skip_outside_window: false };
    let running = store.start_campaign(p.team.id, c.id, &plan).await.unwrap();
    assert_eq!(store.campaign_counts(c.id).await.unwrap().queued, 1);

    // The runner saw it paused: it moved meanwhile, so it is not failed.
    let moved = store.fail_campaign(p.team.id, c.id, CampaignStatus::Paused, "channel not found").await;
    assert!(matches!(moved, Err(DomainError::Conflict(_))), "{moved:?}");

    let failed = store.fail_campaign(p.team.id, running.id, CampaignStatus::Running, "channel not found").await.unwrap();
    assert_eq!((failed.status, failed.failure.as_deref()), (CampaignStatus::Failed, Some("channel not found")));
    assert!(failed.finished_at.is_some());
    let counts = store.campaign_counts(c.id).await.unwrap();
    assert_eq!((counts.queued, counts.skipped), (0, 1), "{counts:?}");
    assert_eq!(counts.skipped_by.get("campaign_failed"), Some(&1), "{counts:?}");
    assert_eq!(store.campaign(p.team.id, c.id).await.unwrap().failure.as_deref(), Some("channel not found"));
}

/// Agents first across nodes: a node whose agents were slow marks it for a while, and every
/// node's runner hears it, then it passes.
#[sqlx::test]
async fn a_node_whose_agents_were_slow_holds_every_node_s_campaigns_back_for_a_while(pool: sqlx::PgPool) {
    let node_a = &PgStore::from_pool(pool.clone());
    let node_b = &PgStore::from_pool(pool);
    let hold = std::time::Duration::from_millis(300);
    assert!(!node_a.agents_slowed(false, hold).await.unwrap(), "nobody was slow");
    assert!(node_b.agents_slowed(true, hold).await.unwrap());
    assert!(node_a.agents_slowed(false, hold).await.unwrap(), "node A hears node B's agents");
    tokio::time::sleep(hold + std::time::Duration::from_millis(100)).await;
    assert!(!node_a.agents_slowed(false, hold).await.unwrap(), "and then it passes");
}
