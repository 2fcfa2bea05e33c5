//! How the core's own refusals reach HTTP clients: a busy thread and an unreachable store are
//! 503 with `Retry-After`, a failure we do not understand is a 500 that shows no details.

use crate::support::*;
use axum::http::{Method, StatusCode, header};
use serde_json::json;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_busy_thread_is_503_with_retry_after() {
    let app = App::start(|c| c.max_queued_per_thread = 1).await;
    let (team, thread, agent) = (app.acme.id, app.acme.thread, app.acme.agent.user.clone());
    let threads = app.core.threads.clone();
    threads.mark_read(team, thread, agent.clone()).await.expect("warm up");
    app.store.set_latency("mark_read", Duration::from_secs(1));

    // One command in its slow store call, one waiting behind it: the queue is full.
    let first = tokio::spawn({
        let (threads, agent) = (threads.clone(), agent.clone());
        async move { threads.mark_read(team, thread, agent).await }
    });
    while app.store.calls("mark_read") < 2 {
        tokio::task::yield_now().await;
    }
    let second = tokio::spawn({
        let (threads, agent) = (threads.clone(), agent.clone());
        async move { threads.mark_read(team, thread, agent).await }
    });
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }

    let reply = app.json(Method::POST, &format!("/api/threads/{thread}/read"), &app.acme.agent.token, json!({})).await;
    reply.error(StatusCode::SERVICE_UNAVAILABLE, "busy");
    assert_eq!(reply.headers.get(header::RETRY_AFTER).map(|v| v.to_str().unwrap()), Some("1"));

    first.await.unwrap().expect("the first command");
    second.await.unwrap().expect("the waiting command");
    let again = app.json(Method::POST, &format!("/api/threads/{thread}/read"), &app.acme.agent.token, json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
}

#[tokio::test]
async fn a_store_that_cannot_load_the_thread_is_503_with_retry_after() {
    let app = App::start(|_| {}).await;
    app.store.fail_next("load_thread", 1);
    let reply = app.json(Method::POST, &format!("/api/threads/{}/read", app.acme.thread), &app.acme.agent.token, json!({})).await;
    reply.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(reply.headers.get(header::RETRY_AFTER).map(|v| v.to_str().unwrap()), Some("1"));
}

#[tokio::test]
async fn a_store_failure_is_a_500_without_details() {
    let app = App::start(|_| {}).await;
    let token = &app.acme.agent.token;
    app.store.fail_next("add_note", 1);
    let reply = app.json(Method::POST, &format!("/api/threads/{}/notes", app.acme.thread), token, json!({ "body": "hi" })).await;
    let error = reply.error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(error["message"], "internal error");
    assert!(!reply.body.to_string().contains("injected"), "no details leak: {reply:?}");

    // Reads fail the same way.
    app.store.fail_next("list_threads", 1);
    app.get("/api/threads", token).await.error(StatusCode::INTERNAL_SERVER_ERROR, "internal");

    // And the thread works again right after.
    let reply = app.json(Method::POST, &format!("/api/threads/{}/notes", app.acme.thread), token, json!({ "body": "hi" })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}
