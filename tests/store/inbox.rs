//! The inbox list's statement: each combination of filters is its own prepared statement, so the
//! plain inbox (what every agent's page asks for, again after each event) is planned once per
//! connection and its cached plan still reads only the listed threads.

use crate::*;
use actors::rules::views::View;
use sqlx::PgPool;
use switchboard::store::PgStore;

/// `n` threads a campaign created and nobody wrote in (not listed), on the fixture's channel.
async fn quiet_threads(db: &PgPool, team: actors::ids::TeamId, thread: ThreadId, n: i64) {
    sqlx::query(
        "WITH c AS (
            INSERT INTO contacts (id, team_id, phone, name)
            SELECT gen_random_uuid(), $1, '+1415' || lpad((3000000 + i)::text, 7, '0'), 'Quiet ' || i FROM generate_series(1, $2) AS i
            RETURNING id)
         INSERT INTO threads (id, team_id, contact_id, channel_id, listed)
         SELECT gen_random_uuid(), $1, c.id, (SELECT channel_id FROM threads WHERE id = $3), false FROM c",
    )
    .bind(team.0)
    .bind(n)
    .bind(thread.0)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("ANALYZE threads").execute(db).await.unwrap();
}

/// How many times the connection's prepared inbox statements were planned for their values
/// (custom) and served from the cached plan (generic).
async fn inbox_plans(one: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(sum(custom_plans), 0)::int8, COALESCE(sum(generic_plans), 0)::int8 FROM pg_prepared_statements
         WHERE statement LIKE '%AS t_marked_unread FROM threads t%' AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_one(one)
    .await
    .unwrap()
}

#[sqlx::test]
async fn the_plain_inbox_is_planned_once_and_its_cached_plan_reads_only_listed_threads(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(&store).await;
    quiet_threads(&pool, p.team.id, thread, 3000).await;
    let one = one_connection(&pool).await;
    let reader = PgStore::from_pool(one.clone());

    for view in [None, Some(View::Open)] {
        let filter = ThreadFilter { view, viewer: Some(p.user.id), limit: 50, ..ThreadFilter::default() };
        for _ in 0..9 {
            reader.list_threads(p.team.id, &filter).await.unwrap();
        }
        // The tenth, read alone: what its plan reads of `threads`.
        let before = reads(&one, "threads", &["seq_tup_read", "idx_tup_fetch"]).await;
        let page = reader.list_threads(p.team.id, &filter).await.unwrap();
        let read = reads(&one, "threads", &["seq_tup_read", "idx_tup_fetch"]).await - before;
        assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![thread], "{view:?}: only the listed thread");
        assert!(read <= 10, "{view:?}: the cached plan read {read} thread rows for one listed thread among 3,001");
    }
    // Planned for their values the first five times (Postgres' rule), then from the cached
    // plan: the all-filters statement could only be planned each time (its generic plan left
    // the `listed` index, benchmarks §11c).
    let (custom, generic) = inbox_plans(&one).await;
    assert_eq!((custom, generic), (10, 10), "custom and generic plans of the two inbox statements");

    // A search is different each time: planned for its values, never cached.
    let search = ThreadFilter { search: Some("Quiet 12".into()), viewer: Some(p.user.id), limit: 50, ..ThreadFilter::default() };
    assert!(reader.list_threads(p.team.id, &search).await.unwrap().items.is_empty(), "quiet threads stay out of a search too");
    assert_eq!(inbox_plans(&one).await, (10, 10));
}
