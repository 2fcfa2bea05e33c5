//! Search and notifications: the same contracts as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`), on Postgres (the GIN and trigram indexes, the
//! `UNIQUE (user_id, fact)` that keeps a fact once).

use crate::*;
use actors::audit::Actor;
use sqlx::PgPool;

#[sqlx::test]
async fn search_finds_what_the_reader_may_see(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let p = fixture_named(store, "Carol").await;
    actors::fakes::contracts::search(store, &Actor::new(p.0.user.clone(), Default::default()), p.1).await;
}

#[sqlx::test]
async fn notifications_are_stored_once_per_person_and_fact(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, thread) = fixture(store).await;
    actors::fakes::contracts::notifications(store, &Actor::new(p.user.clone(), Default::default()), thread).await;
}
