//! Triage: the same contract as the in-memory fake's (`actors/src/fakes/store/tests.rs`):
//! labels, a thread's labels and priority, unread marks, the tabs' counts.

use crate::*;
use actors::audit::Actor;
use sqlx::PgPool;

#[sqlx::test]
async fn triage_labels_priority_unread_marks_and_counts(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, thread) = fixture(store).await;
    actors::fakes::contracts::triage(store, &Actor::new(p.user.clone(), Default::default()), thread).await;
}
