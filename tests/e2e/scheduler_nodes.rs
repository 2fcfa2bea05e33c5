//! Scheduled messages across nodes: two schedulers on one database send a burst due at one
//! instant each exactly once, to the simulator and to a real-carrier fake (one carrier request
//! per message, whichever node claims it).

use crate::scheduler::{in_secs, send_at_wait};
use crate::support::*;
use futures_util::StreamExt;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

/// Creates `threads` contacts and threads, then schedules `per_thread` messages on each, all due
/// at one instant; the requests alternate between the two servers' clients (both share the
/// session cookie) so each server's scheduler hears of half of them directly. Returns the instant.
async fn schedule_burst(a: &Agent, clients: &[Client; 2], threads: usize, per_thread: usize, lead_secs: f64) -> OffsetDateTime {
    let mut ids = Vec::new();
    for i in 0..threads {
        ids.push(a.thread_with(&format!("Contact {i}"), &format!("+1415555{:04}", 300 + i)).await);
    }
    let (due, due_text) = in_secs(lead_secs);
    let jobs: Vec<(Client, String, String)> =
        (0..threads * per_thread).map(|n| (clients[n % 2].clone(), ids[n % threads].clone(), format!("burst message {n}"))).collect();
    futures_util::stream::iter(jobs)
        .for_each_concurrent(8, |(client, thread, body)| {
            let due_text = due_text.clone();
            async move {
                let (status, msg) = client.post("/api/messages", json!({ "thread_id": thread, "body": body, "send_at": due_text })).await;
                assert_eq!(status, 201, "{msg}");
            }
        })
        .await;
    assert!(
        OffsetDateTime::now_utc() < due - time::Duration::milliseconds(500),
        "scheduling the burst took longer than its lead time: the race below would not be a race"
    );
    due
}

#[sqlx::test]
async fn two_schedulers_on_one_database_send_each_message_exactly_once(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Two nodes share the database; neither's per-number limiter should slow the burst. The
    // simulated carrier reports back after 2 s, well after each send is recorded, so every
    // message's hand-off is its own `sent` event (an earlier report may fold it into `delivered`).
    let fast = |c: &mut switchboard::Config| {
        c.send_rate_per_second = 10_000;
        c.simulator_delay_ms = 2000;
    };
    let node_a = TestServer::start_with(&opts, fast).await;
    let node_b = TestServer::start_with(&opts, fast).await;
    let a = node_a.admin("Alice").await;
    let clients = [a.client.clone(), Client { http: a.client.http.clone(), base: node_b.base.clone() }];

    // 200 messages over 4 threads, all due at the same instant.
    let due = schedule_burst(&a, &clients, 4, 50, 6.0).await;

    // Both schedulers wake at that instant and race for the same rows.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    tokio::time::sleep(send_at_wait(due)).await;
    wait_outbound(&db, &["sent", "delivered"], 200, Duration::from_secs(30)).await;

    // Every message has exactly one `sent` event in its thread's log: never zero, never two.
    let per_message: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT m.id, (SELECT count(*) FROM thread_events e
                       WHERE e.thread_id = m.thread_id AND e.type = 'message.updated'
                         AND e.payload->>'id' = m.id::text AND e.payload->>'status' = 'sent')
         FROM messages m WHERE m.direction = 'outbound'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(per_message.len(), 200);
    let wrong: Vec<_> = per_message.iter().filter(|(_, n)| *n != 1).collect();
    assert!(wrong.is_empty(), "messages without exactly one sent event: {wrong:?}");

    // The carrier produced exactly one sid per message, each distinct.
    let (sids, distinct, missing): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(provider_sid), count(DISTINCT provider_sid), count(*) FILTER (WHERE provider_sid IS NULL)
         FROM messages WHERE direction = 'outbound'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((sids, distinct, missing), (200, 200, 0));

    // Each message's delivery report then came through, once.
    wait_outbound(&db, &["delivered"], 200, Duration::from_secs(15)).await;
    let dup_delivered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT payload->>'id' FROM thread_events
                               WHERE type = 'message.updated' AND payload->>'status' = 'delivered'
                               GROUP BY 1 HAVING count(*) <> 1) x",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(dup_delivered, 0);

    // And none was dispatched before it was due.
    let early: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE direction = 'outbound' AND sent_at < scheduled_at")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(early, 0);
    db.close().await;
    node_a.stop().await;
    node_b.stop().await;
}

/// A fake Twilio that answers every send with a fresh sid and remembers each request.
pub(crate) struct FreshSid(pub(crate) AtomicUsize);

impl wiremock::Respond for FreshSid {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        wiremock::ResponseTemplate::new(201).set_body_json(json!({ "sid": format!("SM{n:032x}"), "status": "queued" }))
    }
}

#[sqlx::test]
async fn two_schedulers_ask_the_real_carrier_once_per_message(_p: PgPoolOptions, opts: PgConnectOptions) {
    // The simulator cannot show a duplicate send (a second send's sid would simply be unknown),
    // so here the team has a real number and both nodes talk to one fake Twilio that counts.
    let twilio = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"^/2010-04-01/Accounts/AC[0-9a-z]{32}/Messages\.json$"))
        .respond_with(FreshSid(AtomicUsize::new(0)))
        .mount(&twilio)
        .await;
    let tweak = |c: &mut switchboard::Config| {
        c.send_rate_per_second = 10_000;
        c.twilio_api_base = twilio.uri();
    };
    let node_a = TestServer::start_with(&opts, tweak).await;
    let node_b = TestServer::start_with(&opts, tweak).await;
    let a = node_a.admin("Alice").await;
    add_real_number(&a).await;
    let clients = [a.client.clone(), Client { http: a.client.http.clone(), base: node_b.base.clone() }];

    // 200 messages due at one instant, on threads that use the real number.
    let due = schedule_burst(&a, &clients, 4, 50, 6.0).await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let on_real: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages m JOIN threads t ON t.id = m.thread_id JOIN channels c ON c.id = t.channel_id WHERE NOT c.simulated",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(on_real, 200);
    tokio::time::sleep(send_at_wait(due)).await;
    wait_outbound(&db, &["sent", "delivered"], 200, Duration::from_secs(30)).await;

    // The fake carrier was asked exactly 200 times, once for each message's body.
    let requests = twilio.received_requests().await.unwrap();
    let mut per_body: HashMap<String, usize> = HashMap::new();
    for r in &requests {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(&r.body).unwrap();
        *per_body.entry(form["Body"].clone()).or_default() += 1;
    }
    let twice: Vec<_> = per_body.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!((requests.len(), per_body.len()), (200, 200));
    db.close().await;
    node_a.stop().await;
    node_b.stop().await;
}
