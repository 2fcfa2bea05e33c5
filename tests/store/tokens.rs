//! API tokens: the one-statement lookup, revocation, expiry, listings.

use crate::*;
use actors::ports::*;
use sqlx::PgPool;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

#[sqlx::test]
async fn a_token_lookup_is_one_statement_and_stamps_last_use_at_most_once_a_minute(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, _) = fixture(&store).await;
    let token = store.create_token(&act(&p.user), "ci", b"hash", None).await.unwrap();
    let last_used = || async {
        let at: Option<OffsetDateTime> =
            sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE id = $1").bind(token.id.0).fetch_one(&pool).await.unwrap();
        at
    };
    assert_eq!(last_used().await, None);

    let before = store.statements();
    assert_eq!(store.token_principal(b"hash").await.unwrap().unwrap().user.id, p.user.id);
    assert_eq!(store.statements() - before, 1, "the lookup and the stamp are one statement");
    let first = last_used().await.expect("stamped on first use");

    // Within the minute nothing is written again.
    store.token_principal(b"hash").await.unwrap().unwrap();
    assert_eq!(last_used().await, Some(first));

    // A minute later it is.
    sqlx::query("UPDATE api_tokens SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1")
        .bind(token.id.0)
        .execute(&pool)
        .await
        .unwrap();
    store.token_principal(b"hash").await.unwrap().unwrap();
    assert!(last_used().await.unwrap() >= first, "stamped again");
    assert_eq!(store.list_tokens(p.team.id, None, None, 10).await.unwrap().items[0].last_used_at, last_used().await);

    // Concurrent lookups with one token all authenticate.
    let mut tasks = vec![];
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.token_principal(b"hash").await.unwrap().is_some() }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
}

#[sqlx::test]
async fn revoked_and_expired_tokens_neither_authenticate_nor_list(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, _) = fixture(&store).await;
    let soon = OffsetDateTime::now_utc() + Duration::hours(1);
    let revoked = store.create_token(&act(&p.user), "revoked", b"revoked", None).await.unwrap();
    let expiring = store.create_token(&act(&p.user), "expiring", b"expiring", Some(soon)).await.unwrap();
    let micros = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1000;
    assert_eq!(expiring.expires_at.map(micros), Some(micros(soon)), "as stored, to the microsecond");
    assert!(store.token_principal(b"expiring").await.unwrap().is_some());

    store.revoke_token(&act(&p.user), revoked.id, Some(p.user.id)).await.unwrap();
    assert!(store.token_principal(b"revoked").await.unwrap().is_none());
    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(expiring.id.0)
        .execute(&pool)
        .await
        .unwrap();
    assert!(store.token_principal(b"expiring").await.unwrap().is_none());
    assert!(store.list_tokens(p.team.id, None, None, 10).await.unwrap().items.is_empty());

    // Revoking twice is "not found" the second time, and each change is in the audit log.
    let again = store.revoke_token(&act(&p.user), revoked.id, None).await.unwrap_err();
    assert!(matches!(again, actors::DomainError::NotFound("token")), "{again:?}");
    let audit: Vec<(String, uuid::Uuid, uuid::Uuid)> =
        sqlx::query_as("SELECT action, target_id::uuid, actor_id FROM audit_log WHERE action LIKE 'token.%' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (me, r, e) = (p.user.id.0, revoked.id.0, expiring.id.0);
    assert_eq!(audit, vec![("token.created".into(), r, me), ("token.created".into(), e, me), ("token.revoked".into(), r, me)]);
}

#[sqlx::test]
async fn tokens_are_revoked_only_by_their_owner_or_the_teams_admins(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, _) = fixture(&store).await;
    let (other_team, _) = fixture(&store).await;
    let agent = teammate(&store, &p, "Ben").await;
    let admins = store.create_token(&act(&p.user), "admin's", b"admin", None).await.unwrap();
    let agents = store.create_token(&act(&agent), "agent's", b"agent", None).await.unwrap();

    // Another team's admin, and an agent limited to their own, find nothing.
    let err = store.revoke_token(&act(&other_team.user), agents.id, None).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::NotFound(_)), "{err:?}");
    let err = store.revoke_token(&act(&agent), admins.id, Some(agent.id)).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::NotFound(_)), "{err:?}");
    assert!(store.token_principal(b"admin").await.unwrap().is_some());
    assert!(store.token_principal(b"agent").await.unwrap().is_some());

    // The team's admin may revoke the agent's.
    store.revoke_token(&act(&p.user), agents.id, None).await.unwrap();
    assert!(store.token_principal(b"agent").await.unwrap().is_none());
}

#[sqlx::test]
async fn token_listings_page_newest_first_per_user_or_team(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, _) = fixture(&store).await;
    let (other_team, _) = fixture(&store).await;
    let agent = teammate(&store, &p, "Ben").await;
    let mut mine = vec![];
    for i in 0..5 {
        mine.push(store.create_token(&act(&p.user), &format!("t{i}"), format!("mine-{i}").as_bytes(), None).await.unwrap());
    }
    let agents = store.create_token(&act(&agent), "agent's", b"agent", None).await.unwrap();
    store.create_token(&act(&other_team.user), "theirs", b"theirs", None).await.unwrap();

    let walk = |owner: Option<actors::ids::UserId>| {
        let store = store.clone();
        let team = p.team.id;
        async move {
            let mut seen = vec![];
            let mut cursor: Option<String> = None;
            loop {
                let page = store.list_tokens(team, owner, cursor.as_deref(), 2).await.unwrap();
                assert!(page.items.len() <= 2);
                seen.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return seen,
                }
            }
        }
    };
    let own = walk(Some(p.user.id)).await;
    mine.reverse();
    assert_eq!(own, mine, "own tokens, newest first, each once");
    let all = walk(None).await;
    assert_eq!(all.len(), 6, "the team's, not another team's");
    assert_eq!(all[0], agents);
    assert_eq!((all[0].user_id, all[0].user_name.as_str()), (agent.id, "Ben"));
    let err = store.list_tokens(p.team.id, None, Some("garbage"), 2).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "{err:?}");
}
