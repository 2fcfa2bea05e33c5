//! Two-factor: the same contract as the in-memory fake's (`actors/src/fakes/store/tests.rs`),
//! and the secret sealed at rest.

use crate::*;
use actors::audit::Actor;
use sqlx::PgPool;
use switchboard::store::PgStore;

#[sqlx::test]
async fn two_factor_keeps_steps_codes_and_challenges_single_use(pool: PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let by = &Actor::new(p.user.clone(), Default::default());
    store.begin_two_factor(by.user.id, "SEALEDSECRETXYZ").await.unwrap();
    let at_rest: String = sqlx::query_scalar("SELECT secret_sealed FROM two_factor").fetch_one(&pool).await.unwrap();
    assert!(at_rest.starts_with("v1:") && !at_rest.contains("SEALEDSECRETXYZ"), "sealed at rest: {at_rest}");
    sqlx::query("DELETE FROM two_factor").execute(&pool).await.unwrap();
    actors::fakes::contracts::two_factor(store, by).await;
}
