//! How many SQL statements one command costs, end to end, read from the server's own counter
//! (`switchboard_db_statements_total` in `/metrics`, every statement incl. BEGIN and COMMIT). Its
//! own test binary: the counter is process-wide, so this one server must be alone in it.
//!
//! - A send-now on a running thread, from the API request (its session lookup included) until the
//!   tabs see `sent`: at most 4 (it was 19, in 7 round trips of the store API, before the core
//!   was reshaped).
//! - A signed inbound webhook from a known sender on a running thread: at most 3 statements, of
//!   which one write (it was 15).

#[path = "e2e/support/mod.rs"]
mod common;

use common::twilio::*;
use common::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

/// Twilio's answer to a created message, with a new sid each time.
struct NewSid;

impl wiremock::Respond for NewSid {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        created(&format!("SM{}", hex32()))
    }
}

async fn statements(server: &TestServer) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("switchboard_db_statements_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("the statement counter is exported") as u64
}

/// Waits (reading Postgres directly, not through the server) until the message is `sent`.
async fn wait_sent(db: &sqlx::PgPool, id: &str) {
    let id: uuid::Uuid = id.parse().unwrap();
    for _ in 0..100 {
        let status: String = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1").bind(id).fetch_one(db).await.unwrap();
        if status == "sent" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status: String =
        sqlx::query_scalar("SELECT status || coalesce(error_reason, '') FROM messages WHERE id = $1").bind(id).fetch_one(db).await.unwrap();
    panic!("the message was not sent: {status}");
}

#[sqlx::test]
async fn a_send_now_and_an_inbound_message_cost_few_statements(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        // No schedule polls or stale sweeps while counting.
        c.run_scheduler = false;
    })
    .await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550190", "sms").await;
    Mock::given(method("POST")).and(path(account.messages_path())).respond_with(NewSid).mount(&twilio).await;

    // Warm: the thread's actor runs and the sender is known.
    let warm = send(&a, &thread, "warm up", &[]).await;
    wait_sent(&db, warm["id"].as_str().unwrap()).await;
    let first = inbound_params(&account, "+14155550190", &format!("SM{}", hex32()), "hello");
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &first).await);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let before = statements(&server).await;
    let msg = send(&a, &thread, "counted", &[]).await;
    wait_sent(&db, msg["id"].as_str().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let send_now = statements(&server).await - before;
    println!("send-now: {send_now} statements");
    assert!(send_now <= 4, "a send-now took {send_now} statements");

    let before = statements(&server).await;
    let again = inbound_params(&account, "+14155550190", &format!("SM{}", hex32()), "me again");
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &again).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let inbound = statements(&server).await - before;
    println!("inbound: {inbound} statements");
    assert!(inbound <= 3, "an inbound webhook took {inbound} statements");
    server.stop().await;
}
