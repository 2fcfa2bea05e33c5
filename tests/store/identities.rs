//! Sign-in with a provider: the same contract as the in-memory fake's
//! (`actors/src/fakes/store/tests.rs`), and expired pending logins deleted as new ones come.

use crate::*;
use actors::audit::Actor;
use sqlx::PgPool;

#[sqlx::test]
async fn identities_link_once_and_invites_are_used_once(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::identities(store, &Actor::new(p.user.clone(), Default::default())).await;
    // The contract's expired login is gone: the next login deleted it.
    let expired: i64 = sqlx::query_scalar("SELECT count(*) FROM oidc_logins WHERE expires_at < now()").fetch_one(&pool).await.unwrap();
    assert_eq!(expired, 0);
}
