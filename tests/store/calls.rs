//! Calls and voice settings: the same contract as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`).

use crate::*;
use sqlx::PgPool;

#[sqlx::test]
async fn calls_are_recorded_once_and_replies_claimed_once_per_period(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::calls(store, p.team.id).await;
}
