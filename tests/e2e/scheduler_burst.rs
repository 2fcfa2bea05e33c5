//! End-to-end tests of a scheduled burst under batched dispatch (issue 16): the scheduler claims
//! many due messages in one statement and each thread sends and records its share as a batch.
//! What batching must not break: each message is one carrier request, also with two nodes
//! claiming the same burst, and a thread's messages reach the carrier, and get their `sent`
//! seqs, in the order they were due.

use crate::support::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A fake Twilio that answers every send with a fresh sid, each a little sooner than the one
/// before it: sends of one thread running side by side would be answered (and recorded) out of
/// order.
struct SoonerEachTime(AtomicUsize);

impl wiremock::Respond for SoonerEachTime {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let delay = Duration::from_millis(60u64.saturating_sub(n as u64 / 4));
        wiremock::ResponseTemplate::new(201).set_body_json(json!({ "sid": format!("SM{n:032x}"), "status": "queued" })).set_delay(delay)
    }
}

/// `count` nodes on one database, all talking to one fake Twilio, and an admin whose team has a
/// real number there.
async fn nodes(opts: &PgConnectOptions, twilio: &wiremock::MockServer, count: usize) -> (Vec<TestServer>, Agent) {
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"^/2010-04-01/Accounts/AC[0-9a-z]{32}/Messages\.json$"))
        .respond_with(SoonerEachTime(AtomicUsize::new(0)))
        .mount(twilio)
        .await;
    let mut servers = Vec::new();
    for _ in 0..count {
        let uri = twilio.uri();
        servers.push(
            TestServer::start_with(opts, move |c: &mut switchboard::Config| {
                c.send_rate_per_second = 10_000;
                c.twilio_api_base = uri;
            })
            .await,
        );
    }
    let a = servers[0].admin("Alice").await;
    add_real_number(&a).await;
    (servers, a)
}

/// Schedules `per_thread` messages on each of `threads` new threads through `clients` (in
/// turn): message `i` of a thread is due `i` ms after `lead_secs` from now, and its body is
/// "burst {thread} {i}". Returns the threads' ids and phones, and the last due instant.
async fn schedule_in_order(
    a: &Agent,
    clients: &[Client],
    threads: usize,
    per_thread: usize,
    lead_secs: f64,
) -> (Vec<(String, String)>, OffsetDateTime) {
    let mut ids = Vec::new();
    for t in 0..threads {
        let phone = format!("+1415555{:04}", 700 + t);
        ids.push((a.thread_with(&format!("Contact {t}"), &phone).await, phone));
    }
    let first = OffsetDateTime::now_utc() + time::Duration::seconds_f64(lead_secs);
    let jobs: Vec<(usize, usize)> = (0..per_thread).flat_map(|i| (0..threads).map(move |t| (t, i))).collect();
    let mut n = 0;
    for chunk in jobs.chunks(8) {
        let posts = chunk.iter().map(|(t, i)| {
            n += 1;
            let client = clients[n % clients.len()].clone();
            let at = (first + time::Duration::milliseconds(*i as i64)).format(&Rfc3339).unwrap();
            let body = json!({ "thread_id": ids[*t].0, "body": format!("burst {t} {i}"), "send_at": at });
            async move {
                let (status, msg) = client.post("/api/messages", body).await;
                assert_eq!(status, 201, "{msg}");
            }
        });
        futures_util::future::join_all(posts).await;
    }
    assert!(OffsetDateTime::now_utc() < first - time::Duration::milliseconds(500), "scheduling took longer than the lead time");
    (ids, first + time::Duration::milliseconds(per_thread as i64))
}

/// Every carrier request's form, in the order they arrived.
async fn carrier_requests(twilio: &wiremock::MockServer) -> Vec<HashMap<String, String>> {
    let requests = twilio.received_requests().await.unwrap();
    requests.iter().map(|r| serde_urlencoded::from_bytes(&r.body).unwrap()).collect()
}

/// The bodies of the messages of a thread's `sent` events, by seq.
async fn sent_bodies_by_seq(db: &sqlx::PgPool, thread: &str) -> Vec<String> {
    let thread: uuid::Uuid = thread.parse().unwrap();
    sqlx::query_scalar(
        "SELECT m.body FROM thread_events e JOIN messages m ON m.id = (e.payload->>'id')::uuid
         WHERE e.thread_id = $1 AND e.type = 'message.updated' AND e.payload->>'status' = 'sent' ORDER BY e.seq",
    )
    .bind(thread)
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test]
async fn scheduler_burst_reaches_the_carrier_once_in_each_threads_due_order(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = wiremock::MockServer::start().await;
    // One node: per-thread order holds on a node (a burst that two nodes split may interleave
    // one thread's messages; the next test covers exactly-once there).
    let (servers, a) = nodes(&opts, &twilio, 1).await;
    let (threads, last_due) = schedule_in_order(&a, std::slice::from_ref(&a.client), 4, 60, 5.0).await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    tokio::time::sleep((last_due - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO)).await;
    wait_outbound(&db, &["sent"], 240, Duration::from_secs(30)).await;

    let requests = carrier_requests(&twilio).await;
    assert_eq!(requests.len(), 240, "one carrier request per message");
    for (t, (thread, phone)) in threads.iter().enumerate() {
        let expected: Vec<String> = (0..60).map(|i| format!("burst {t} {i}")).collect();
        let asked: Vec<String> = requests.iter().filter(|f| &f["To"] == phone).map(|f| f["Body"].clone()).collect();
        assert_eq!(asked, expected, "thread {t} reached the carrier out of due order");
        assert_eq!(sent_bodies_by_seq(&db, thread).await, expected, "thread {t}'s sent events are not in due order");
    }
    db.close().await;
    for s in servers {
        s.stop().await;
    }
}

#[sqlx::test]
async fn two_schedulers_split_a_burst_in_batches_and_ask_the_carrier_once_per_message(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = wiremock::MockServer::start().await;
    let (servers, a) = nodes(&opts, &twilio, 2).await;
    let clients = [a.client.clone(), Client { http: a.client.http.clone(), base: servers[1].base.clone() }];
    // More messages than one claim of either node takes, on few threads: many per batch.
    let (threads, last_due) = schedule_in_order(&a, &clients, 5, 100, 8.0).await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    tokio::time::sleep((last_due - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO)).await;
    wait_outbound(&db, &["sent"], 500, Duration::from_secs(60)).await;

    // Exactly one request per message, and one sid each.
    let requests = carrier_requests(&twilio).await;
    let mut per_body: HashMap<String, usize> = HashMap::new();
    for f in &requests {
        *per_body.entry(f["Body"].clone()).or_default() += 1;
    }
    let twice: Vec<_> = per_body.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!((requests.len(), per_body.len()), (500, 500));
    let (sids, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(provider_sid), count(DISTINCT provider_sid) FROM messages WHERE direction = 'outbound'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((sids, distinct), (500, 500));
    // Each message has one `sent` event, and a thread's seqs are its own, gapless.
    for (thread, _) in &threads {
        let bodies = sent_bodies_by_seq(&db, thread).await;
        assert_eq!(bodies.len(), 100);
        let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM thread_events WHERE thread_id = $1 ORDER BY seq")
            .bind(thread.parse::<uuid::Uuid>().unwrap())
            .fetch_all(&db)
            .await
            .unwrap();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "a thread's seqs have a gap or repeat");
    }
    let unsent: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM messages WHERE direction = 'outbound' AND status <> 'sent' GROUP BY 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(unsent.is_empty(), "{unsent:?}");
    db.close().await;
    for s in servers {
        s.stop().await;
    }
}
