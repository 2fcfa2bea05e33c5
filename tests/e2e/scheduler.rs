//! End-to-end tests of scheduled messages: on-time dispatch seen over a socket, editing and
//! canceling, the stale `sending` sweep, auto-cancel on a contact's reply, validation of
//! `send_at`, opt-out at dispatch time and the inbox's `scheduled` filter. Two schedulers on one
//! database: `scheduler_nodes.rs`.

use crate::scheduler_nodes::FreshSid;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How late a dispatch may be on this (slow, shared, two-core) machine. The design target is one
/// second after `send_at`; the slack is for a busy CI box, not for the scheduler.
const LATE: Duration = Duration::from_millis(1500);

/// The simulated carrier's pause before each delivery report (the server's default): long
/// enough that a send is recorded, and seen as its own `sent` event, before the reports arrive.
const CARRIER_DELAY_MS: u64 = 400;

/// An instant `secs` from now, and its RFC 3339 form for the API.
pub(crate) fn in_secs(secs: f64) -> (OffsetDateTime, String) {
    let at = OffsetDateTime::now_utc() + time::Duration::seconds_f64(secs);
    (at, at.format(&Rfc3339).unwrap())
}

fn parse_time(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")), &Rfc3339).unwrap()
}

/// Schedules `body` on `thread` for `send_at`; asserts the 201 and returns the message.
async fn schedule(agent: &Agent, thread: &str, body: &str, send_at: &str, cancel_on_reply: bool) -> Value {
    let (status, msg) = agent
        .client
        .post("/api/messages", json!({ "thread_id": thread, "body": body, "send_at": send_at, "cancel_on_reply": cancel_on_reply }))
        .await;
    assert_eq!(status, 201, "schedule {body:?}: {msg}");
    assert_eq!(msg["status"], "scheduled", "{msg}");
    msg
}

/// `/api/messages/{id}` of a message.
fn msg_path(msg: &Value) -> String {
    format!("/api/messages/{}", msg["id"].as_str().unwrap())
}

/// A message as the thread view shows it.
async fn message(agent: &Agent, thread: &str, id: &Value) -> Value {
    let (status, view) = agent.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(status, 200, "{view}");
    view["messages"].as_array().unwrap().iter().find(|m| m["id"] == *id).cloned().unwrap_or_else(|| panic!("no message {id} in {view}"))
}

/// Polls the thread view until the message reaches one of `statuses`; panics after `wait`.
async fn wait_status(agent: &Agent, thread: &str, id: &Value, statuses: &[&str], wait: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let m = message(agent, thread, id).await;
        if statuses.iter().any(|s| m["status"] == *s) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "message {id} did not become {statuses:?} within {wait:?}: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The thread's persisted events (the catch-up log) about one message.
async fn message_events(agent: &Agent, thread: &str, id: &Value) -> Vec<Value> {
    let (status, log) = agent.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    assert_eq!(status, 200, "{log}");
    log["events"].as_array().unwrap().iter().filter(|e| e["data"]["id"] == *id).cloned().collect()
}

/// Waits until `deadline` and asserts that no `message.updated` with one of `statuses` arrives.
async fn expect_no_status(ws: &mut Ws, statuses: &[&str], until: OffsetDateTime) {
    loop {
        let left = until - OffsetDateTime::now_utc();
        if left <= time::Duration::ZERO {
            return;
        }
        if let Some(f) = ws.next(left.try_into().unwrap()).await
            && f["event"] == "message.updated"
        {
            let e = event_data(&f);
            let status = e["data"]["status"].as_str().unwrap_or_default();
            assert!(!statuses.contains(&status), "unexpected message.updated {status}: {e}");
        }
    }
}

#[sqlx::test]
async fn a_scheduled_message_is_sent_on_time_and_seen_live(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.simulator_delay_ms = CARRIER_DELAY_MS).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550201").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // Schedule a message two seconds ahead: it is stored as `scheduled` and watchers see it.
    let (send_at, send_at_text) = in_secs(2.0);
    let msg = schedule(&a, &thread, "see you at 3", &send_at_text, false).await;
    assert_eq!(parse_time(&msg["scheduled_at"]).unix_timestamp(), send_at.unix_timestamp());
    assert!(msg["sent_at"].is_null() && msg["provider_sid"].is_null());
    let created = ws.expect_data("message.created", WAIT).await;
    assert_eq!(created["data"]["id"], msg["id"]);
    assert_eq!(created["data"]["status"], "scheduled");

    // Nothing goes out early.
    expect_no_status(&mut ws, &["sending", "sent", "delivered"], send_at - time::Duration::milliseconds(50)).await;

    // At send_at the scheduler hands it to the carrier: `sent` arrives within a second or so…
    let sent = ws.expect_data("message.updated", send_at_wait(send_at)).await;
    let late = OffsetDateTime::now_utc() - send_at;
    assert_eq!(sent["data"]["id"], msg["id"]);
    assert_eq!(sent["data"]["status"], "sent", "{sent}");
    assert!(sent["data"]["provider_sid"].as_str().is_some_and(|s| s.starts_with("SM")), "{sent}");
    assert!(late < LATE, "sent {late} after send_at");
    // …and the carrier itself was asked no earlier than send_at (µs precision in Postgres).
    let sent_at = parse_time(&sent["data"]["sent_at"]);
    assert!(sent_at >= send_at - time::Duration::milliseconds(1), "sent at {sent_at}, due {send_at}");
    assert!(sent["seq"].as_i64() > created["seq"].as_i64());

    // Then the simulated carrier reports delivery.
    let delivered = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(delivered["data"]["status"], "delivered", "{delivered}");
    assert!(delivered["seq"].as_i64() > sent["seq"].as_i64());
    let stored = message(&a, &thread, &msg["id"]).await;
    assert_eq!(stored["status"], "delivered");
    assert_eq!(stored["body"], "see you at 3");
    server.stop().await;
}

/// How long to wait for a dispatch due at `at`: until then, plus the allowed lateness.
pub(crate) fn send_at_wait(at: OffsetDateTime) -> Duration {
    let left: Duration = (at - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO);
    left + LATE
}

#[sqlx::test]
async fn an_edited_message_goes_out_with_its_new_body_at_its_new_time(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.simulator_delay_ms = CARRIER_DELAY_MS).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550202").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // One message is brought forward (30 s → 2 s) with a new body: the scheduler must re-arm
    // for the earlier instant rather than wait for the old one.
    let (_, later_text) = in_secs(30.0);
    let sooner = schedule(&a, &thread, "draft", &later_text, false).await;
    // Another is pushed back (2 s → 4 s): it must not go out at its old time.
    let (_, two_text) = in_secs(2.0);
    let pushed = schedule(&a, &thread, "pushed back", &two_text, false).await;

    let (new_at, new_at_text) = in_secs(2.0);
    let (status, edited) = a.client.patch(&msg_path(&sooner), json!({ "body": "final", "send_at": new_at_text })).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["body"], "final");
    assert_eq!(edited["status"], "scheduled");
    assert_eq!(parse_time(&edited["scheduled_at"]).unix_timestamp(), new_at.unix_timestamp());
    let (pushed_at, pushed_text) = in_secs(4.0);
    let (status, moved) = a.client.patch(&msg_path(&pushed), json!({ "send_at": pushed_text })).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["body"], "pushed back", "an edit without a body keeps it");

    // Watchers saw both edits as message.updated (still scheduled).
    for _ in 0..2 {
        let e = ws.expect_data("message.updated", WAIT).await;
        assert_eq!(e["data"]["status"], "scheduled", "{e}");
    }

    // The brought-forward message goes out at its new time with its new body, and only it.
    let sent = ws.expect_data("message.updated", send_at_wait(new_at)).await;
    assert_eq!(sent["data"]["id"], sooner["id"], "{sent}");
    assert_eq!(sent["data"]["status"], "sent");
    // The event carries what moved (not the body); the body that went out is the stored one,
    // checked below.
    assert!(sent["data"].get("body").is_none(), "{sent}");
    assert!(OffsetDateTime::now_utc() - new_at < LATE);

    // The pushed-back one goes out at its new time, not its old one.
    let done = wait_status(&a, &thread, &pushed["id"], &["sent", "delivered"], send_at_wait(pushed_at) + Duration::from_secs(1)).await;
    let sent_at = parse_time(&done["sent_at"]);
    assert!(sent_at >= pushed_at - time::Duration::milliseconds(1), "sent at {sent_at}, rescheduled for {pushed_at}");

    // A message that is no longer scheduled cannot be edited or canceled: 409.
    let (_, soon_text) = in_secs(60.0);
    let (status, err) = a.client.patch(&msg_path(&sooner), json!({ "body": "too late", "send_at": soon_text })).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    let (status, err) = a.client.delete(&msg_path(&sooner)).await;
    assert_eq!(status, 409, "{err}");
    let stored = message(&a, &thread, &sooner["id"]).await;
    assert_eq!(stored["body"], "final");
    server.stop().await;
}

#[sqlx::test]
async fn a_canceled_message_is_never_sent(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550203").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // Schedule two seconds ahead, then cancel: the answer and the watchers say `canceled`.
    let (send_at, send_at_text) = in_secs(2.0);
    let msg = schedule(&a, &thread, "never mind", &send_at_text, false).await;
    ws.expect_data("message.created", WAIT).await;
    let (status, canceled) = a.client.delete(&msg_path(&msg)).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    let e = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(e["data"]["status"], "canceled");

    // Well past its time, nothing was sent: no event, still canceled, no carrier sid.
    expect_no_status(&mut ws, &["sending", "sent", "delivered", "failed"], send_at + time::Duration::seconds(2)).await;
    let stored = message(&a, &thread, &msg["id"]).await;
    assert_eq!(stored["status"], "canceled");
    assert!(stored["provider_sid"].is_null() && stored["sent_at"].is_null(), "{stored}");
    let statuses: Vec<Value> = message_events(&a, &thread, &msg["id"]).await.iter().map(|e| e["data"]["status"].clone()).collect();
    assert_eq!(statuses, vec![json!("scheduled"), json!("canceled")]);

    // Canceling or editing it again is a conflict.
    let (status, _) = a.client.delete(&msg_path(&msg)).await;
    assert_eq!(status, 409);
    let (status, _) = a.client.patch(&msg_path(&msg), json!({ "body": "revived" })).await;
    assert_eq!(status, 409);
    server.stop().await;
}

#[sqlx::test]
async fn a_send_left_in_sending_by_a_crash_fails_as_outcome_unknown(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A first life of the server: a message is scheduled far ahead.
    let first = TestServer::start(&opts).await;
    let a = first.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550204").await;
    let (_, later) = in_secs(3600.0);
    let msg = schedule(&a, &thread, "lost in the crash", &later, false).await;
    first.stop().await;

    // It crashed mid-send ten minutes ago: claimed (`sending`), no carrier answer recorded.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let id: uuid::Uuid = msg["id"].as_str().unwrap().parse().unwrap();
    let done = sqlx::query(
        "UPDATE messages SET status = 'sending', claimed_at = now() - interval '10 minutes', provider_sid = NULL,
                scheduled_at = now() - interval '10 minutes'
         WHERE id = $1",
    )
    .bind(id)
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);

    // The restarted server's sweep fails it rather than send it again (it may have gone out).
    let server = TestServer::start_with(&opts, |c| c.stale_sending_secs = 1).await;
    let a = Agent { client: Client { http: a.client.http.clone(), base: server.base.clone() }, ..a };
    let failed = wait_status(&a, &thread, &msg["id"], &["failed", "sent", "delivered"], Duration::from_secs(5)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error_reason"].as_str().unwrap_or_default().contains("outcome unknown"), "{failed}");
    assert!(failed["provider_sid"].is_null() && failed["sent_at"].is_null(), "{failed}");

    // It stays failed, and its log shows the failure and no send.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let still = message(&a, &thread, &msg["id"]).await;
    assert_eq!(still["status"], "failed");
    let statuses: Vec<Value> = message_events(&a, &thread, &msg["id"]).await.iter().map(|e| e["data"]["status"].clone()).collect();
    assert_eq!(statuses, vec![json!("scheduled"), json!("failed")]);
    db.close().await;
    server.stop().await;
}

#[sqlx::test]
async fn a_contact_reply_cancels_the_messages_marked_so(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.simulator_delay_ms = CARRIER_DELAY_MS).await;
    let a = server.admin("Alice").await;
    let phone = "+14155550205";
    let thread = a.thread_with("Carol", phone).await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // A follow-up that only makes sense if Carol stays silent, and a reminder that goes anyway.
    let (send_at, send_at_text) = in_secs(3.0);
    let follow_up = schedule(&a, &thread, "just checking in?", &send_at_text, true).await;
    assert_eq!(follow_up["cancel_on_reply"], true);
    let reminder = schedule(&a, &thread, "your appointment is tomorrow", &send_at_text, false).await;
    assert_eq!(reminder["cancel_on_reply"], false);

    // Carol replies (through the simulator's signed webhook path).
    let (status, sid) =
        a.client.post("/api/simulator/inbound", json!({ "from": phone, "channel": "sms", "body": "all good, thanks" })).await;
    assert_eq!(status, 202, "{sid}");

    // Watchers see her message and the follow-up canceled, with a reason.
    let inbound = loop {
        let created = ws.expect_data("message.created", WAIT).await;
        if created["data"]["direction"] == "inbound" {
            break created;
        }
    };
    assert_eq!(inbound["data"]["body"], "all good, thanks");
    let canceled = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(canceled["data"]["id"], follow_up["id"]);
    assert_eq!(canceled["data"]["status"], "canceled");
    let stored = message(&a, &thread, &follow_up["id"]).await;
    assert_eq!(stored["status"], "canceled");
    assert!(stored["error_reason"].as_str().is_some_and(|r| r.contains("replied")), "{stored}");

    // At send_at only the reminder goes out.
    let sent = ws.expect_data("message.updated", send_at_wait(send_at)).await;
    assert_eq!(sent["data"]["id"], reminder["id"], "{sent}");
    assert_eq!(sent["data"]["status"], "sent");
    wait_status(&a, &thread, &reminder["id"], &["delivered"], WAIT).await;
    let stored = message(&a, &thread, &follow_up["id"]).await;
    assert_eq!(stored["status"], "canceled");
    assert!(stored["provider_sid"].is_null(), "{stored}");
    let statuses: Vec<Value> = message_events(&a, &thread, &follow_up["id"]).await.iter().map(|e| e["data"]["status"].clone()).collect();
    assert_eq!(statuses, vec![json!("scheduled"), json!("canceled")]);
    server.stop().await;
}

#[sqlx::test]
async fn send_at_must_be_in_the_future_and_within_the_horizon(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.schedule_horizon_days = 1).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550206").await;

    // In the past: 422 on send_at, and nothing is stored.
    let (_, past) = in_secs(-60.0);
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "late", "send_at": past })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "invalid");
    assert_eq!(err["error"]["field"], "send_at");

    // Beyond the horizon (one day here): 422 on send_at.
    let (_, far) = in_secs(2.0 * 86_400.0);
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "far", "send_at": far })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["field"], "send_at");
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 0, "{view}");

    // Within it: accepted. Editing it into the past or past the horizon is refused the same way.
    let (_, ok) = in_secs(23.0 * 3600.0);
    let msg = schedule(&a, &thread, "tomorrow", &ok, false).await;
    for bad in [past, far] {
        let (status, err) = a.client.patch(&msg_path(&msg), json!({ "send_at": bad })).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["error"]["field"], "send_at");
    }
    assert_eq!(message(&a, &thread, &msg["id"]).await["scheduled_at"], msg["scheduled_at"]);
    server.stop().await;
}

#[sqlx::test]
async fn a_contact_who_opted_out_before_dispatch_is_not_sent_to(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550207").await;
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    let contact = view["thread"]["contact"]["id"].as_str().unwrap().to_owned();
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // Scheduled while Carol could still be messaged…
    let (send_at, send_at_text) = in_secs(2.0);
    let msg = schedule(&a, &thread, "promo code inside", &send_at_text, false).await;
    // …then she opts out before it is due.
    let (status, c) = a.client.patch(&format!("/api/contacts/{contact}"), json!({ "opted_out": true })).await;
    assert_eq!(status, 200, "{c}");
    assert!(c["opted_out_at"].is_string(), "{c}");

    // At dispatch the opt-out is checked again: the message fails with the reason, unsent.
    let failed = ws.expect_data("message.updated", send_at_wait(send_at)).await;
    assert_eq!(failed["data"]["id"], msg["id"]);
    assert_eq!(failed["data"]["status"], "failed", "{failed}");
    assert!(failed["data"]["error_reason"].as_str().is_some_and(|r| r.contains("opted out")), "{failed}");
    assert_eq!(failed["data"]["error_code"], 21610);
    assert!(failed["data"]["provider_sid"].is_null() && failed["data"]["sent_at"].is_null(), "{failed}");
    expect_no_status(&mut ws, &["sent", "delivered"], OffsetDateTime::now_utc() + time::Duration::seconds(1)).await;
    assert_eq!(message(&a, &thread, &msg["id"]).await["status"], "failed");
    server.stop().await;
}

#[sqlx::test]
async fn the_scheduled_filter_lists_threads_with_pending_scheduled_messages(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let waiting = a.thread_with("Waiting", "+14155550208").await;
    let canceled = a.thread_with("Canceled", "+14155550209").await;
    let immediate = a.thread_with("Immediate", "+14155550210").await;
    let soon = a.thread_with("Soon", "+14155550211").await;
    let _quiet = a.thread_with("Quiet", "+14155550212").await;

    // Two pending messages on one thread; one canceled on another; one sent right away on a
    // third; one due in two seconds on a fourth; nothing on the fifth.
    let (_, hour) = in_secs(3600.0);
    schedule(&a, &waiting, "one", &hour, false).await;
    schedule(&a, &waiting, "two", &hour, false).await;
    let c = schedule(&a, &canceled, "no", &hour, false).await;
    let (status, _) = a.client.delete(&msg_path(&c)).await;
    assert_eq!(status, 200);
    let (status, _) = a.client.post("/api/messages", json!({ "thread_id": immediate, "body": "now" })).await;
    assert_eq!(status, 201);
    let (soon_at, soon_text) = in_secs(2.0);
    schedule(&a, &soon, "soon", &soon_text, false).await;

    let listed = |body: Value| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap().to_owned(), t["scheduled_count"].as_i64().unwrap()))
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<(String, i64)>| {
        v.sort();
        v
    };
    let (status, body) = a.client.get("/api/threads?scheduled=true").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(body), sorted(vec![(waiting.clone(), 2), (soon.clone(), 1)]));

    // Once the due one is sent, its thread leaves the filter.
    let (_, view) = a.client.get(&format!("/api/threads/{soon}")).await;
    let soon_msg = view["messages"][0]["id"].clone();
    wait_status(&a, &soon, &soon_msg, &["sent", "delivered"], send_at_wait(soon_at)).await;
    let (_, body) = a.client.get("/api/threads?scheduled=true").await;
    assert_eq!(listed(body), vec![(waiting.clone(), 2)]);
    // Without the filter every thread is listed.
    let (_, all) = a.client.get("/api/threads").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    server.stop().await;
}

#[sqlx::test]
async fn a_send_failed_by_the_stale_sweep_is_never_handed_to_the_carrier(_p: PgPoolOptions, opts: PgConnectOptions) {
    // One number, one message per second (Twilio's long-code rate), and a short stale window: a
    // burst of five due at once waits in the limiter longer than the window.
    let twilio = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST")).respond_with(FreshSid(AtomicUsize::new(0))).mount(&twilio).await;
    let server = TestServer::start_with(&opts, |c| {
        c.send_rate_per_second = 1;
        c.stale_sending_secs = 2;
        c.twilio_api_base = twilio.uri();
    })
    .await;
    let a = server.admin("Alice").await;
    add_real_number(&a).await;
    let thread = a.thread_with("Carol", "+14155550213").await;
    let (due, due_text) = in_secs(2.0);
    for i in 0..5 {
        schedule(&a, &thread, &format!("campaign {i}"), &due_text, false).await;
    }

    // Wait until every message settled one way or the other, and the limiter emptied.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    tokio::time::sleep(send_at_wait(due) + Duration::from_secs(6)).await;
    let failed: Vec<String> =
        sqlx::query_scalar("SELECT body FROM messages WHERE status = 'failed' AND error_reason LIKE '%outcome unknown%' ORDER BY body")
            .fetch_all(&db)
            .await
            .unwrap();

    // A message failed as "outcome unknown … not retried to avoid a duplicate" must not reach
    // the carrier afterwards: that would be a send the inbox shows as failed.
    let requests = twilio.received_requests().await.unwrap();
    let asked: Vec<String> =
        requests.iter().map(|r| serde_urlencoded::from_bytes::<HashMap<String, String>>(&r.body).unwrap()["Body"].clone()).collect();
    let sent_anyway: Vec<&String> = failed.iter().filter(|b| asked.contains(b)).collect();
    assert!(sent_anyway.is_empty(), "failed as outcome unknown, yet sent: {sent_anyway:?} (carrier asked for {asked:?})");
    // And waiting behind the sender's budget is not a crash: the live process keeps its claims
    // fresh, so every message goes out, once.
    assert!(failed.is_empty(), "queued sends were failed as outcome unknown: {failed:?}");
    let mut unique = asked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((asked.len(), unique.len()), (5, 5), "{asked:?}");
    db.close().await;
    server.stop().await;
}
