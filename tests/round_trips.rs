//! How many SQL statements one command costs, end to end, read from the server's own counter
//! (`switchboard_db_statements_total` in `/metrics`, every statement incl. BEGIN and COMMIT). Its
//! own test binary: the counter is process-wide, so this one server must be alone in it.
//!
//! - A send-now on a running thread, from the API request (its session lookup included) until the
//!   tabs see `sent`: at most 4 (it was 19, in 7 round trips of the store API, before the core
//!   was reshaped).
//! - A signed inbound webhook from a known sender on a running thread: at most 3 statements, of
//!   which one write (it was 15).
//! - A scheduled burst (100 messages on 4 running threads, due at one instant), from the due
//!   instant until every one is `sent`: at most 40 statements (15 measured), well under one per message (the
//!   claim takes many rows at once, each thread loads and records its share as a batch; it was
//!   two per message and one per claim before issue 16).

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

    // The same process (its counter), a fresh server with a scheduler that does not poll while
    // counting: it hears of the burst from the thread actors that stored it.
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.scheduler_poll_ms = 600_000;
        c.send_rate_per_second = 10_000;
    })
    .await;
    let burst = scheduled_burst_statements(&server, &twilio, &db).await;
    println!("scheduled burst of 100: {burst} statements");
    assert!(burst <= 40, "a scheduled burst of 100 took {burst} statements");
    server.stop().await;
}

/// Schedules 25 messages on each of 4 running threads, all due at one instant, and counts the
/// statements from just before that instant until all 100 are `sent`.
async fn scheduled_burst_statements(server: &TestServer, twilio: &MockServer, db: &sqlx::PgPool) -> u64 {
    let b = server.admin("Bob").await;
    let account = Account::new();
    add_channel(&b, "sms", &account, None).await;
    Mock::given(method("POST")).and(path(account.messages_path())).respond_with(NewSid).mount(twilio).await;
    let mut threads = Vec::new();
    for i in 0..4 {
        let (_, thread) = contact_thread(&b, &format!("Dan {i}"), &format!("+1415555020{i}"), "sms").await;
        // Warm: the thread's actor runs.
        let warm = send(&b, &thread, "warm up", &[]).await;
        wait_sent(db, warm["id"].as_str().unwrap()).await;
        threads.push(thread);
    }
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let send_at = due.format(&time::format_description::well_known::Rfc3339).unwrap();
    for n in 0..100 {
        let body = serde_json::json!({ "thread_id": threads[n % 4], "body": format!("burst {n}"), "send_at": send_at });
        let (status, msg) = b.client.post("/api/messages", body).await;
        assert_eq!(status, 201, "{msg}");
    }
    let left: Duration = (due - time::OffsetDateTime::now_utc()).try_into().expect("scheduled within the lead time");
    tokio::time::sleep(left.saturating_sub(Duration::from_millis(300))).await;
    let before = statements(server).await;
    for _ in 0..300 {
        let sent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM messages WHERE body LIKE 'burst %' AND status = 'sent'").fetch_one(db).await.unwrap();
        if sent == 100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return statements(server).await - before;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the burst was not sent");
}
