//! Automatic assignment's setting and round robin: the same contract as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`).

use crate::*;
use sqlx::PgPool;

#[sqlx::test]
async fn auto_assignment_takes_turns_among_the_online(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let (bob, cy) = (teammate(store, &p, "Bob").await, teammate(store, &p, "Cy").await);
    actors::fakes::contracts::auto_assignment(store, p.team.id, [p.user.id, bob.id, cy.id]).await;
}

#[sqlx::test]
async fn the_backlog_is_due_once_per_period_and_lists_the_customers_still_waiting(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(store).await;
    actors::fakes::contracts::backlog(store, p.team.id, thread, p.user.id).await;
}
