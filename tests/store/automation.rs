//! Automation: the same contract as the in-memory fake's (`actors/src/fakes/store/tests.rs`).

use crate::*;
use sqlx::PgPool;

#[sqlx::test]
async fn automation_rules_hours_and_claims(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(store).await;
    actors::fakes::contracts::automation(store, &act(&p.user), thread).await;
}
