//! Passwords: the same contract as the in-memory fake's (`actors/src/fakes/store/tests.rs`).

use crate::*;
use actors::audit::Actor;
use sqlx::PgPool;
use switchboard::store::PgStore;

#[sqlx::test]
async fn passwords_end_sessions_and_links_work_once(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::passwords(store, &Actor::new(p.user.clone(), Default::default())).await;
}
