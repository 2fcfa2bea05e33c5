//! Twilio auth tokens are sealed at rest (AES-256-GCM, key outside the database): the database
//! never holds one in plain text, a token stored before encryption is sealed at the next start,
//! and `rotate-key` re-seals them under a new key while webhooks keep verifying.

use crate::support::twilio::*;
use crate::support::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn stored_tokens(db: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT auth_token FROM channels ORDER BY created_at").fetch_all(db).await.unwrap()
}

#[sqlx::test]
async fn auth_tokens_are_sealed_and_a_rotated_key_still_verifies_webhooks(_p: PgPoolOptions, opts: PgConnectOptions) {
    let key_file = std::env::temp_dir().join(format!("sb-seal-{}/secret.key", uuid_short()));
    let with_key = |c: &mut switchboard::Config| c.secret_key_file = key_file.clone();
    let server = TestServer::start_with(&opts, with_key).await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let tokens = stored_tokens(&db).await;
    assert!(tokens.iter().all(|t| t.starts_with("v1:")), "every token is sealed: {tokens:?}");
    assert!(!tokens.iter().any(|t| t.contains(&account.token)), "the real token is nowhere in the database");
    let inbound = |n: u32| inbound_params(&account, &format!("+1415555{:04}", 200 + n), &format!("SM{}", hex32()), "hi");
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &inbound(1)).await);
    server.stop().await;

    // A token written in plain text (as before encryption) is sealed at the next start.
    sqlx::query("UPDATE channels SET auth_token = $1 WHERE account_sid = $2")
        .bind(&account.token)
        .bind(&account.sid)
        .execute(&db)
        .await
        .unwrap();
    let server = TestServer::start_with(&opts, with_key).await;
    assert!(stored_tokens(&db).await.iter().all(|t| t.starts_with("v1:")));
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &inbound(2)).await);
    server.stop().await;

    // rotate-key: every token re-sealed under a new key, the key file replaced.
    let before = stored_tokens(&db).await;
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let mut config = switchboard::Config::for_tests(&db_url(&opts));
    with_key(&mut config);
    switchboard::server::rotate_key(&config).await.unwrap();
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), old_key, "a new key");
    let after = stored_tokens(&db).await;
    assert_eq!(after.len(), before.len());
    assert!(after.iter().zip(&before).all(|(a, b)| a != b && a.starts_with("v1:")));
    let server = TestServer::start_with(&opts, with_key).await;
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &inbound(3)).await);
    server.stop().await;

    // A node with another key refuses to start, instead of failing every webhook.
    let mut stranger = switchboard::Config::for_tests(&db_url(&opts));
    stranger.secret_key_file = key_file.with_file_name("other.key");
    let refused = switchboard::server::open_store(&stranger).await.expect_err("another key");
    assert!(refused.to_string().contains("same key"), "{refused}");
    let _ = std::fs::remove_dir_all(key_file.parent().unwrap());
}
