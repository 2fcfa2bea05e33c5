//! Triage end to end, on Postgres: labels and priority (set through the thread's actor, in its
//! log, live on another node, filtered and sorted), each agent's own "mark unread" (live on
//! their other tabs, nobody else's), retrying a failed send (a new message, the failed one
//! kept), and bulk changes that go through each thread's actor.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(5);

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect()
}

#[sqlx::test]
async fn labels_and_priority_are_logged_live_on_another_node_filtered_and_sorted(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let tweak = |c: &mut switchboard::Config| c.redis_url = "redis://127.0.0.1:6379/".into();
    let node_a = TestServer::start_with(&opts, tweak).await;
    let node_b = TestServer::start_with(&opts, tweak).await;
    let ana = node_a.admin("Ana").await;
    let ben = node_a.agent(&ana, "Ben").await;
    let first = ana.thread_with("Carol", "+14155550301").await;
    let second = ana.thread_with("Dan", "+14155550302").await;
    let mut inbox_b = ben.socket(&node_b).await;
    inbox_b.subscribe(&format!("presence-team-{}", ana.team_id)).await;

    // Admins manage labels; agents read them.
    let (code, body) = ben.client.post("/api/labels", json!({ "name": "VIP", "color": "#f59e0b" })).await;
    assert_eq!(code, 403, "{body}");
    let (code, vip) = ana.client.post("/api/labels", json!({ "name": "VIP", "color": "#F59E0B" })).await;
    assert_eq!((code, vip["color"].as_str()), (201, Some("#f59e0b")), "{vip}");
    let changed = inbox_b.expect_data("label.changed", SOON).await;
    assert_eq!(changed["label"]["id"], vip["id"], "the other node's inboxes hear of it");
    let (code, body) = ana.client.post("/api/labels", json!({ "name": "vip", "color": "#000000" })).await;
    assert_eq!(code, 409, "{body}");
    let (code, body) = ana.client.post("/api/labels", json!({ "name": "Red", "color": "red" })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("color")), "{body}");
    let (_, bug) = ana.client.post("/api/labels", json!({ "name": "Bug", "color": "#dc2626" })).await;
    let (_, listed) = ben.client.get("/api/labels").await;
    let names: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bug", "VIP"], "by name");

    // An agent labels a thread and sets its priority, on node A: live on node B, in the log.
    let (code, row) =
        ben.client.patch(&format!("/api/threads/{second}"), json!({ "labels": [vip["id"], bug["id"]], "priority": "urgent" })).await;
    assert_eq!(code, 200, "{row}");
    assert_eq!(row["priority"], "urgent");
    assert_eq!(row["label_ids"].as_array().unwrap().len(), 2);
    let live = loop {
        let t = inbox_b.expect_data("thread.updated", SOON).await;
        if t["id"] == second.as_str() && t["priority"] == "urgent" {
            break t;
        }
    };
    assert_eq!(live["label_ids"], row["label_ids"]);
    let (_, log) = ben.client.get(&format!("/api/threads/{second}/events?after=0")).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["type"].as_str(), last["actor_id"].as_str()), (Some("thread.updated"), Some(ben.id.as_str())), "{last}");
    assert_eq!(last["data"]["priority"], "urgent");

    // Bad values are answers, not crashes.
    let (code, body) = ben.client.patch(&format!("/api/threads/{first}"), json!({ "priority": "critical" })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("priority")), "{body}");
    let stranger = node_a.admin("Zed").await;
    let (_, theirs) = stranger.client.post("/api/labels", json!({ "name": "Theirs", "color": "#000" })).await;
    let (code, body) = ben.client.patch(&format!("/api/threads/{first}"), json!({ "labels": [theirs["id"]] })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("labels")), "{body}");
    let (code, _) = stranger.client.patch(&format!("/api/threads/{second}"), json!({ "priority": "low" })).await;
    assert_eq!(code, 404, "another team's thread is not found");

    // Filters and the order by priority.
    let vip_id = vip["id"].as_str().unwrap();
    let (_, by_label) = ben.client.get(&format!("/api/threads?label={vip_id}")).await;
    assert_eq!(ids(&by_label), [second.as_str()]);
    let (_, by_priority) = ben.client.get("/api/threads?priority=urgent").await;
    assert_eq!(ids(&by_priority), [second.as_str()]);
    ben.client.post("/api/simulator/inbound", json!({ "from": "+14155550301", "channel": "sms", "body": "newest" })).await;
    for _ in 0..50 {
        let (_, recent) = ben.client.get("/api/threads?view=open").await;
        if ids(&recent)[0] == first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, recent) = ben.client.get("/api/threads?view=open").await;
    assert_eq!(ids(&recent)[0], first, "newest first by default: {recent}");
    let (_, ranked) = ben.client.get("/api/threads?view=open&sort=priority&limit=1").await;
    assert_eq!(ids(&ranked), [second.as_str()], "urgent first by priority");
    let (_, rest) =
        ben.client.get(&format!("/api/threads?view=open&sort=priority&limit=1&cursor={}", ranked["next_cursor"].as_str().unwrap())).await;
    assert_eq!(ids(&rest), [first.as_str()], "the cursor walks on");
    let (code, body) = ben.client.get("/api/threads?view=closed").await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("view")), "{body}");

    // Deleting a label takes it off every thread, is audited, and is live.
    assert_eq!(ben.client.delete(&format!("/api/labels/{vip_id}")).await.0, 403);
    assert_eq!(ana.client.delete(&format!("/api/labels/{vip_id}")).await.0, 204);
    let gone = inbox_b.expect_data("label.deleted", SOON).await;
    assert_eq!(gone["id"], vip_id);
    let (_, thread) = ben.client.get(&format!("/api/threads/{second}")).await;
    assert_eq!(thread["thread"]["label_ids"], json!([bug["id"]]));
    let (_, audit) = ana.client.get("/api/audit").await;
    let entry = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "label.deleted").expect("audited").clone();
    assert_eq!((entry["target_id"].as_str(), entry["details"]["threads"].as_i64()), (Some(vip_id), Some(1)), "{entry}");
    node_a.stop().await;
    node_b.stop().await;
}

#[sqlx::test]
async fn tabs_count_their_threads_and_mark_unread_is_one_agents_live_on_their_tabs(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let open = ana.thread_with("Carol", "+14155550311").await;
    let pending = ana.thread_with("Dan", "+14155550312").await;
    let resolved = ana.thread_with("Eve", "+14155550313").await;
    let snoozed = ana.thread_with("Fay", "+14155550314").await;
    ana.client.patch(&format!("/api/threads/{pending}"), json!({ "status": "pending", "assignee_id": ben.id })).await;
    ana.client.patch(&format!("/api/threads/{resolved}"), json!({ "status": "resolved" })).await;
    ana.client.patch(&format!("/api/threads/{snoozed}"), json!({ "status": "snoozed" })).await;

    let (_, counts) = ben.client.get("/api/threads/counts").await;
    assert_eq!(counts, json!({ "open": 2, "snoozed": 1, "resolved": 1, "all": 4, "mine": 1, "unassigned": 1 }));
    let (_, tab) = ben.client.get("/api/threads?view=open").await;
    let mut tab = ids(&tab);
    tab.sort();
    let mut expected = vec![open.clone(), pending.clone()];
    expected.sort();
    assert_eq!(tab, expected, "Open is open and pending");
    let (_, mine) = ben.client.get("/api/threads?view=open&assignee=me").await;
    assert_eq!(ids(&mine), [pending.as_str()]);

    // Ben marks a thread unread: his other tab hears it, his list shows it, Ana's does not.
    let mut other_tab = ben.socket(&server).await;
    other_tab.subscribe(&format!("private-user-{}", ben.id)).await;
    let mut ana_inbox = ana.socket(&server).await;
    ana_inbox.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    // Earlier changes' rows may still be on their way (the team actor coalesces them).
    while ana_inbox.next(Duration::from_millis(300)).await.is_some() {}
    let (code, row) = ben.client.post(&format!("/api/threads/{open}/unread"), json!({})).await;
    assert_eq!((code, row["marked_unread"].as_bool()), (200, Some(true)), "{row}");
    let told = other_tab.expect_data("thread.unread", SOON).await;
    assert_eq!((told["thread_id"].as_str(), told["thread"]["marked_unread"].as_bool()), (Some(open.as_str()), Some(true)));
    ana_inbox.expect_none("thread.updated", Duration::from_millis(500)).await;
    let (_, bens) = ben.client.get("/api/threads?unread=true").await;
    assert_eq!(ids(&bens), [open.as_str()]);
    assert_eq!(bens["items"][0]["marked_unread"], true);
    let (_, anas) = ana.client.get("/api/threads?unread=true").await;
    assert!(ids(&anas).is_empty(), "{anas}");

    // Reading it takes the mark off, on every tab of his.
    let (_, read) = ben.client.post(&format!("/api/threads/{open}/read"), json!({})).await;
    assert_eq!(read["marked_unread"], false);
    let told = other_tab.expect_data("thread.read", SOON).await;
    assert_eq!(told["thread"]["marked_unread"], false);
    let (_, bens) = ben.client.get("/api/threads?unread=true").await;
    assert!(ids(&bens).is_empty(), "{bens}");
    let (code, _) = ana.client.post(&format!("/api/threads/{}/unread", uuid::Uuid::new_v4()), json!({})).await;
    assert_eq!(code, 404);
    server.stop().await;
}

#[sqlx::test]
async fn a_failed_send_is_retried_as_a_new_message_and_the_failed_one_is_kept(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let thread = ana.thread_with("Carol", "+14155550321").await;
    let mut view = ana.socket(&server).await;
    view.subscribe(&format!("presence-thread-{thread}")).await;
    // The simulator reports a body with #fail undelivered.
    let (code, failed) = ana.client.post("/api/messages", json!({ "thread_id": thread, "body": "Code 1234 #fail" })).await;
    assert_eq!(code, 201, "{failed}");
    let failed_id = failed["id"].as_str().unwrap().to_owned();
    let until_status = |id: String, status: &'static str| {
        let client = ana.client.clone();
        let thread = thread.clone();
        async move {
            for _ in 0..100 {
                let (_, t) = client.get(&format!("/api/threads/{thread}")).await;
                if let Some(m) = t["messages"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str())
                    && m["status"] == status
                {
                    return t;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("{id} never became {status}");
        }
    };
    until_status(failed_id.clone(), "undelivered").await;

    let (code, retry) = ana.client.post(&format!("/api/messages/{failed_id}/retry"), json!({})).await;
    assert_eq!(code, 201, "{retry}");
    assert_ne!(retry["id"], failed["id"], "a new message");
    assert_eq!((retry["body"].as_str(), retry["status"].as_str()), (Some("Code 1234 #fail"), Some("queued")));
    let created = loop {
        let ev = view.expect_data("message.created", SOON).await;
        if ev["data"]["id"] == retry["id"] {
            break ev;
        }
    };
    assert_eq!(created["actor_id"], ana.id.as_str(), "through the thread's send path, by its author");
    let after = until_status(retry["id"].as_str().unwrap().to_owned(), "undelivered").await;
    let messages = after["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "the failed one is kept");
    assert_eq!(messages.iter().find(|m| m["id"] == failed["id"]).unwrap()["status"], "undelivered");

    // Only failed sends are retried; another team's message is not found.
    let (_, ok) = ana.client.post("/api/messages", json!({ "thread_id": thread, "body": "fine" })).await;
    until_status(ok["id"].as_str().unwrap().to_owned(), "delivered").await;
    let (code, body) = ana.client.post(&format!("/api/messages/{}/retry", ok["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(code, 409, "{body}");
    let zed = server.admin("Zed").await;
    assert_eq!(zed.client.post(&format!("/api/messages/{failed_id}/retry"), json!({})).await.0, 404);
    server.stop().await;
}

#[sqlx::test]
async fn a_bulk_change_goes_through_each_threads_actor_and_answers_per_thread(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let mut threads = Vec::new();
    for i in 0..3 {
        threads.push(ana.thread_with("C", &format!("+1415555033{i}")).await);
    }
    let (_, label) = ana.client.post("/api/labels", json!({ "name": "Follow-up", "color": "#16a34a" })).await;
    let mut inbox = ana.socket(&server).await;
    inbox.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    let zed = server.admin("Zed").await;
    let foreign = zed.thread_with("X", "+14155550399").await;

    let mut named = threads.clone();
    named.push(foreign.clone());
    let (code, answer) = ben
        .client
        .post("/api/threads/bulk", json!({ "thread_ids": named, "assignee_id": "me", "status": "resolved", "add_labels": [label["id"]] }))
        .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!((answer["succeeded"].as_i64(), answer["failed"].as_i64()), (Some(3), Some(1)), "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[3]["thread_id"], foreign.as_str());
    assert_eq!((results[3]["ok"].as_bool(), results[3]["error"]["code"].as_str()), (Some(false), Some("not_found")));
    for (result, id) in results.iter().zip(&threads) {
        assert_eq!(result["thread_id"], id.as_str());
        let row = &result["thread"];
        assert_eq!((row["status"].as_str(), row["assignee_id"].as_str()), (Some("resolved"), Some(ben.id.as_str())), "{row}");
        assert_eq!(row["label_ids"], json!([label["id"]]));
        // Each in its own log, by Ben, through its actor.
        let (_, log) = ana.client.get(&format!("/api/threads/{id}/events?after=0")).await;
        let last = log["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["type"].as_str(), last["actor_id"].as_str()), (Some("thread.updated"), Some(ben.id.as_str())));
    }
    // Every inbox hears each one.
    let mut heard = std::collections::HashSet::new();
    while heard.len() < 3 {
        let t = inbox.expect_data("thread.updated", SOON).await;
        if t["status"] == "resolved" {
            heard.insert(t["id"].as_str().unwrap().to_owned());
        }
    }
    let (_, zeds) = zed.client.get(&format!("/api/threads/{foreign}")).await;
    assert_eq!(zeds["thread"]["status"], "open", "another team's thread is untouched");

    // A change no thread could take is one error.
    let (code, body) = ben.client.post("/api/threads/bulk", json!({ "thread_ids": [], "status": "resolved" })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("thread_ids")), "{body}");
    let (code, body) = ben.client.post("/api/threads/bulk", json!({ "thread_ids": threads, "priority": "meh" })).await;
    assert_eq!((code, body["error"]["field"].as_str()), (422, Some("priority")), "{body}");
    server.stop().await;
}
