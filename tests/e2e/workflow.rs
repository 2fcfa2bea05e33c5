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
