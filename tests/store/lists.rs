//! Lists, segments, bulk changes and import upserts: the same contract as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`).

use crate::*;
use sqlx::PgPool;

#[sqlx::test]
async fn lists_segments_bulk_and_import_upserts(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::lists_and_imports(store, p.team.id, p.user.id).await;
}
