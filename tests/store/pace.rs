//! A sender's campaign pace, shared by every node (`campaign_pace`): what one runner takes,
//! another cannot take again until its time has come, so two nodes together keep to one pace.

use crate::*;
use actors::ports::CampaignStore;
use sqlx::PgPool;
use std::time::Duration;

#[sqlx::test]
async fn two_runners_share_one_sender_s_pace(pool: PgPool) {
    let node_a = &PgStore::from_pool(pool.clone());
    let node_b = &PgStore::from_pool(pool);
    let tick = Duration::from_millis(100);

    // 10 a second with a second's burst: the first taker gets the burst, the other nothing.
    let a = node_a.take_pace("+14155550100", 10.0, 100, Duration::from_secs(1)).await.unwrap();
    let b = node_b.take_pace("+14155550100", 10.0, 100, Duration::from_secs(1)).await.unwrap();
    assert_eq!(a, 10, "a second's worth");
    assert!(b <= 1, "what is left of the same second: {b}");

    // Another sender has its own pace; never more than asked for.
    assert_eq!(node_b.take_pace("MG0123", 100.0, 5, tick).await.unwrap(), 5);

    // One a second (a long code): the burst is at least one send, then the next waits its turn.
    assert_eq!(node_a.take_pace("+14155550199", 1.0, 50, tick).await.unwrap(), 1);
    assert_eq!(node_b.take_pace("+14155550199", 1.0, 50, tick).await.unwrap(), 0);
    assert_eq!(node_a.take_pace("+14155550199", 1.0, 50, tick).await.unwrap(), 0);

    // Nothing asked, nothing taken.
    assert_eq!(node_a.take_pace("+14155550177", 1.0, 0, tick).await.unwrap(), 0);
}
