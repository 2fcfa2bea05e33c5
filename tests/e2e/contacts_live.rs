//! A contact's changes show wherever its threads show: renaming a contact, opting it out and
//! deleting it each reach a subscriber of the team channel (the inbox) and of the thread channel
//! (an open thread view) within a second, and the changes land in the thread's event log.

use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(1);

#[sqlx::test]
async fn contact_changes_reach_every_inbox_and_thread_view_live(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let (status, contact) = a.client.post("/api/contacts", json!({ "name": "Carol", "phone": "+14155550140" })).await;
    assert_eq!(status, 201, "{contact}");
    let contact_path = format!("/api/contacts/{}", contact["id"].as_str().unwrap());
    let (status, thread) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": "sms" })).await;
    assert_eq!(status, 200, "{thread}");
    let thread_id = thread["id"].as_str().unwrap().to_owned();

    // Bob has the inbox open in one tab and the thread in another.
    let mut inbox = b.socket(&server).await;
    inbox.subscribe(&format!("presence-team-{}", b.team_id)).await;
    let mut view = b.socket(&server).await;
    view.subscribe(&format!("presence-thread-{thread_id}")).await;
    // The inbox's own news of the new thread (coalesced for 40 ms) is not what this test is about.
    while inbox.next(Duration::from_millis(300)).await.is_some() {}

    // Alice renames Carol: the thread view gets the contact, the inbox row its new name.
    let (status, body) = a.client.patch(&contact_path, json!({ "name": "Carol Jones" })).await;
    assert_eq!(status, 200, "{body}");
    let event = view.expect_data("contact.updated", SOON).await;
    assert_eq!(event["data"]["name"], "Carol Jones");
    assert_eq!(event["thread_id"], thread_id.as_str());
    let row = inbox.expect_data("thread.updated", SOON).await;
    assert_eq!(row["id"], thread_id.as_str());
    assert_eq!(row["contact"]["name"], "Carol Jones");

    // Opting her out shows as such at once in both places.
    let (status, body) = a.client.patch(&contact_path, json!({ "opted_out": true })).await;
    assert_eq!(status, 200, "{body}");
    let event = view.expect_data("contact.updated", SOON).await;
    assert!(event["data"]["opted_out_at"].is_string(), "{event}");
    let row = inbox.expect_data("thread.updated", SOON).await;
    assert!(row["contact"]["opted_out_at"].is_string(), "{row}");

    // Both changes are in the thread's log, with consecutive seqs, for a client catching up.
    let (status, log) = b.client.get(&format!("/api/threads/{thread_id}/events?after=0")).await;
    assert_eq!(status, 200, "{log}");
    let kinds: Vec<&str> = log["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["contact.updated", "contact.updated"]);
    let seqs: Vec<i64> = log["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2]);

    // Purging her removes the thread from every inbox and closes the open view.
    let (status, body) = a.client.delete(&format!("{contact_path}?purge=true")).await;
    assert_eq!(status, 204, "{body}");
    let gone: Value = view.expect_data("thread.deleted", SOON).await;
    assert_eq!(gone["thread_id"], thread_id.as_str());
    let gone = inbox.expect_data("thread.deleted", SOON).await;
    assert_eq!(gone["thread_id"], thread_id.as_str());
    let (status, _) = b.client.get(&format!("/api/threads/{thread_id}")).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[sqlx::test]
async fn a_contact_change_reaches_a_thread_whose_actor_is_running_with_its_cached_state(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A running thread actor keeps the contact's opt-out state: after an opt-out by the API, a
    // send on that thread is refused before anything is stored.
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let (status, contact) = a.client.post("/api/contacts", json!({ "name": "Dan", "phone": "+14155550141" })).await;
    assert_eq!(status, 201);
    let (_, thread) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": "sms" })).await;
    let thread_id = thread["id"].as_str().unwrap();
    let (status, _) = a.client.post("/api/messages", json!({ "thread_id": thread_id, "body": "hello" })).await;
    assert_eq!(status, 201);
    let (status, _) = a.client.patch(&format!("/api/contacts/{}", contact["id"].as_str().unwrap()), json!({ "opted_out": true })).await;
    assert_eq!(status, 200);
    let (status, body) = a.client.post("/api/messages", json!({ "thread_id": thread_id, "body": "still there?" })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "opted_out");
    server.stop().await;
}
