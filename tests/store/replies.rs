//! Canned replies: the same contract as the in-memory fake's (`actors/src/fakes/store/tests.rs`),
//! and the schema's own checks behind the rules.

use crate::*;
use actors::DomainError;
use actors::audit::Actor;
use sqlx::PgPool;

#[sqlx::test]
async fn replies_keep_one_shortcut_per_scope_and_list_what_a_viewer_sees(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::replies(store, &Actor::new(p.user.clone(), Default::default())).await;
}

#[sqlx::test]
async fn the_schema_refuses_what_the_rules_refuse(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, _) = fixture(store).await;
    let new = |shortcut: &str, body: &str| NewReply {
        team: p.team.id,
        owner: None,
        shortcut: shortcut.into(),
        title: "T".into(),
        body: body.into(),
        created_by: p.user.id,
    };
    // A NUL byte names no column (Postgres refuses the parameter itself).
    for (bad, field) in [(new("Upper", "b"), "shortcut"), (new("ok", &"x".repeat(1601)), "body"), (new("nul\0", "b"), "request")] {
        match store.create_reply(bad).await {
            Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected 422 on {field}, got {other:?}"),
        }
    }
}
