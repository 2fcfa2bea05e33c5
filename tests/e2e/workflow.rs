//! The status workflow: a customer writing to a resolved (or snoozed) conversation opens it
//! again, live in every inbox, with `thread.updated` in its log done by no one (the system).

use crate::support::*;
use serde_json::json;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(3);

#[sqlx::test]
async fn an_inbound_message_reopens_a_resolved_or_snoozed_thread(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let thread = ana.thread_with("Carol", "+14155550188").await;
    let mut inbox = ana.socket(&server).await;
    inbox.subscribe(&format!("presence-team-{}", ana.team_id)).await;

    for status in ["resolved", "snoozed"] {
        let (code, body) = ana.client.patch(&format!("/api/threads/{thread}"), json!({ "status": status })).await;
        assert_eq!(code, 200, "{body}");
        let (_, open) = ana.client.get("/api/threads?status=open").await;
        assert!(!open.to_string().contains(&thread), "{status}: not in Open any more");
        while inbox.next(Duration::from_millis(300)).await.is_some() {}

        let (code, _) =
            ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550188", "channel": "sms", "body": "hello again" })).await;
        assert_eq!(code, 202);
        // The inbox row moves to Open live.
        let reopened = loop {
            let row = inbox.expect_data("thread.updated", SOON).await;
            if row["id"] == thread.as_str() && row["status"] == "open" {
                break row;
            }
        };
        assert_eq!(reopened["last_preview"], "hello again", "{reopened}");
        let (_, view) = ana.client.get(&format!("/api/threads/{thread}")).await;
        assert_eq!(view["thread"]["status"], "open", "{status}");
    }

    // The log says so, done by no one.
    let (_, log) = ana.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    let reopenings: Vec<&serde_json::Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "thread.updated" && e["actor_id"].is_null() && e["data"]["status"] == "open")
        .collect();
    assert_eq!(reopenings.len(), 2, "{log}");

    // An open thread stays as it is: no extra event.
    let before = log["events"].as_array().unwrap().len();
    ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550188", "channel": "sms", "body": "and again" })).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, log) = ana.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    let kinds: Vec<&str> = log["events"].as_array().unwrap()[before..].iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message.created"]);
}

#[sqlx::test]
async fn a_snoozed_thread_wakes_once_with_two_nodes_and_tells_its_assignee(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    // Two nodes, both running the scheduler, polling often.
    let tweak = |c: &mut switchboard::Config| {
        c.redis_url = "redis://127.0.0.1:6379/".into();
        c.scheduler_poll_ms = 200;
    };
    let node_a = TestServer::start_with(&opts, tweak).await;
    let node_b = TestServer::start_with(&opts, tweak).await;
    let ana = node_a.admin("Ana").await;
    let thread = ana.thread_with("Carol", "+14155550189").await;
    let path = format!("/api/threads/{thread}");
    assert_eq!(ana.client.patch(&path, json!({ "assignee_id": ana.id })).await.0, 200);
    let mut me = ana.socket(&node_b).await;
    me.subscribe(&format!("private-user-{}", ana.id)).await;

    // Bad ends are refused.
    let past =
        (time::OffsetDateTime::now_utc() - time::Duration::minutes(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (code, body) = ana.client.patch(&path, json!({ "snoozed_until": past })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("snoozed_until")), "{body}");
    let soon =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(3)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (code, body) = ana.client.patch(&path, json!({ "status": "resolved", "snoozed_until": soon })).await;
    assert_eq!(code, 422, "{body}");

    let (code, snoozed) = ana.client.patch(&path, json!({ "snoozed_until": soon })).await;
    assert_eq!(code, 200, "{snoozed}");
    assert_eq!(snoozed["status"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());

    // It wakes once, told to its assignee, within a poll of the end.
    let woke = me.expect_data("snooze.ended", Duration::from_secs(6)).await;
    assert_eq!(woke["thread_id"], thread.as_str());
    assert_eq!(woke["thread"]["status"], "open");
    me.expect_none("snooze.ended", Duration::from_millis(800)).await;
    let (_, view) = ana.client.get(&path).await;
    assert_eq!(view["thread"]["status"], "open");
    assert!(view["thread"]["snoozed_until"].is_null());
    let (_, log) = ana.client.get(&format!("{path}/events?after=0")).await;
    let wakes = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "thread.updated" && e["actor_id"].is_null() && e["data"]["status"] == "open")
        .count();
    assert_eq!(wakes, 1, "{log}");

    // Opening it by hand before the end clears the end: nothing wakes later.
    let soon =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(ana.client.patch(&path, json!({ "snoozed_until": soon })).await.0, 200);
    let (_, reopened) = ana.client.patch(&path, json!({ "status": "open" })).await;
    assert!(reopened["snoozed_until"].is_null(), "{reopened}");
    me.expect_none("snooze.ended", Duration::from_secs(2)).await;
    node_a.stop().await;
    node_b.stop().await;
}
