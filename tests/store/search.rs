//! Search and notifications: the same contracts as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`), on Postgres (the GIN and trigram indexes, the
//! `UNIQUE (user_id, fact)` that keeps a fact once).

use crate::*;
use actors::audit::Actor;
use actors::ports::SearchReads;
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

/// The window of newest rows follows Postgres's statistics of the words: read for everything
/// before `ANALYZE` has any, then for a common word and skipped for a word too rare to fill a
/// page from it; a search finds both either way.
#[sqlx::test]
async fn the_window_follows_the_words_statistics(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(store).await;
    let terms = |q: &str| actors::rules::search::terms(q).unwrap();
    assert_eq!(store.search_windows(&terms("xylophone"), 21).await.unwrap(), (10_000, 4_000), "no statistics yet");

    for i in 0..300 {
        let body = if i == 0 { "a xylophone for the order".to_owned() } else { format!("thanks for the order {i}") };
        store.record_inbound(inbound(&p, thread, &format!("SM{i:032}"), &body)).await.unwrap();
    }
    sqlx::query("ANALYZE messages").execute(&pool).await.unwrap();
    let fresh = &PgStore::from_pool(pool.clone());
    assert_eq!(fresh.search_windows(&terms("thanks"), 21).await.unwrap().0, 10_000, "a common word reads the window");
    // On 300 rows every word is listed: "xylophone" is one row in 300, 33 expected in 10,000.
    assert_eq!(fresh.search_windows(&terms("xylophone"), 21).await.unwrap().0, 10_000);
    // A word nowhere is below ANALYZE's cut-off: the index answers it at once.
    assert_eq!(fresh.search_windows(&terms("zebra"), 21).await.unwrap().0, 0, "a rare word goes to the index");
    assert_eq!(fresh.search_windows(&terms("thanks zebra"), 21).await.unwrap().0, 0, "the rarest word decides");
    assert!(fresh.search(p.team.id, p.user.id, &terms("thanks zebra"), None, 20).await.unwrap().items.is_empty());

    let found = fresh.search(p.team.id, p.user.id, &terms("xylophone"), None, 20).await.unwrap();
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    let common = fresh.search(p.team.id, p.user.id, &terms("thanks"), None, 20).await.unwrap();
    assert_eq!(common.items.len(), 20);
    assert!(common.next_cursor.is_some());
}
