//! Triage at the edge: labels are managed by admins only (403 for agents, 404 for another
//! team's), bad tabs, orders, priorities and labels are 422 naming the field and change
//! nothing, a bulk change answers each thread's own result (another team's thread is
//! `not_found` inside a 200), and unread marks, retries and counts answer in the one shape.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn labels_are_managed_by_admins_of_their_own_team() {
    let app = App::start(|_| {}).await;
    let (admin, agent) = (&app.acme.admin.token, &app.acme.agent.token);
    app.json(Method::POST, "/api/labels", agent, json!({ "name": "VIP", "color": "#f59e0b" }))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    app.json(Method::POST, "/api/labels", admin, json!({ "name": "VIP", "color": "orange" })).await.invalid("color");
    app.json(Method::POST, "/api/labels", admin, json!({ "name": "  ", "color": "#fff" })).await.invalid("name");
    let created = app.json(Method::POST, "/api/labels", admin, json!({ "name": "VIP", "color": "#F59E0B" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["color"], "#f59e0b");
    app.json(Method::POST, "/api/labels", admin, json!({ "name": "vip", "color": "#000" })).await.error(StatusCode::CONFLICT, "conflict");
    let id = created.body["id"].as_str().unwrap().to_owned();

    let listed = app.get("/api/labels", agent).await;
    assert_eq!((listed.status, listed.body["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "{listed:?}");
    assert_eq!(app.get("/api/labels", &app.globex.agent.token).await.body["items"], json!([]), "another team's are not listed");
    let theirs = &app.globex.admin.token;
    app.json(Method::PATCH, &format!("/api/labels/{id}"), theirs, json!({ "name": "Mine now" }))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::DELETE, &format!("/api/labels/{id}"), theirs, json!({})).await.error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::DELETE, &format!("/api/labels/{id}"), agent, json!({})).await.error(StatusCode::FORBIDDEN, "forbidden");
    app.json(Method::PATCH, "/api/labels/not-an-id", admin, json!({ "name": "x" })).await.error(StatusCode::NOT_FOUND, "not_found");
    let renamed = app.json(Method::PATCH, &format!("/api/labels/{id}"), admin, json!({ "name": "VIPs" })).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (StatusCode::OK, Some("VIPs")), "{renamed:?}");
    assert_eq!(app.json(Method::DELETE, &format!("/api/labels/{id}"), admin, json!({})).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_tabs_orders_priorities_and_labels_are_422_and_change_nothing() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let thread = app.acme.thread;
    app.get("/api/threads?view=closed", agent).await.invalid("view");
    app.get("/api/threads?sort=oldest", agent).await.invalid("sort");
    app.get("/api/threads?priority=critical", agent).await.invalid("priority");
    app.get("/api/threads?label=nope", agent).await.invalid("label");
    let ok = app.get("/api/threads?view=open&sort=priority&priority=none", agent).await;
    assert_eq!((ok.status, ok.body["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "{ok:?}");

    let path = format!("/api/threads/{thread}");
    let patch = |body| app.json(Method::PATCH, &path, agent, body);
    patch(json!({ "priority": "critical" })).await.invalid("priority");
    let theirs = app.json(Method::POST, "/api/labels", &app.globex.admin.token, json!({ "name": "Theirs", "color": "#000" })).await;
    patch(json!({ "labels": [theirs.body["id"]] })).await.invalid("labels");
    let many: Vec<String> = (0..21).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    patch(json!({ "labels": many })).await.invalid("labels");
    assert!(app.store.events(thread).is_empty(), "nothing logged");
    let set = patch(json!({ "priority": "high", "labels": [] })).await;
    assert_eq!((set.status, set.body["priority"].as_str()), (StatusCode::OK, Some("high")), "{set:?}");
}

#[tokio::test]
async fn a_bulk_change_answers_each_threads_result() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let bulk = |body| app.json(Method::POST, "/api/threads/bulk", agent, body);
    bulk(json!({ "thread_ids": [], "status": "resolved" })).await.invalid("thread_ids");
    bulk(json!({ "thread_ids": [app.acme.thread] })).await.invalid("status");
    bulk(json!({ "thread_ids": [app.acme.thread], "assignee_id": "someone" })).await.invalid("assignee_id");
    let too_many: Vec<String> = (0..201).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    bulk(json!({ "thread_ids": too_many, "status": "resolved" })).await.invalid("thread_ids");

    let answer = bulk(json!({ "thread_ids": [app.acme.thread, app.globex.thread], "assignee_id": "me", "status": "pending" })).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!((answer.body["succeeded"].as_i64(), answer.body["failed"].as_i64()), (Some(1), Some(1)));
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results[0]["thread"]["assignee_id"], app.acme.agent.user.id.to_string());
    assert_eq!(results[0]["thread"]["status"], "pending");
    assert_eq!((results[1]["ok"].as_bool(), results[1]["error"]["code"].as_str()), (Some(false), Some("not_found")));
    assert!(app.store.events(app.globex.thread).is_empty(), "another team's thread is untouched");
}

#[tokio::test]
async fn unread_marks_retries_and_counts_answer_in_the_one_shape() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let thread = app.acme.thread;
    let unread = app.json(Method::POST, &format!("/api/threads/{thread}/unread"), agent, json!({})).await;
    assert_eq!((unread.status, unread.body["marked_unread"].as_bool()), (StatusCode::OK, Some(true)), "{unread:?}");
    let other = app.globex.thread;
    app.json(Method::POST, &format!("/api/threads/{other}/unread"), agent, json!({})).await.error(StatusCode::NOT_FOUND, "not_found");

    let sent = app.json(Method::POST, "/api/messages", agent, json!({ "thread_id": thread, "body": "hello" })).await;
    assert_eq!(sent.status, StatusCode::CREATED);
    let id = sent.body["id"].as_str().unwrap();
    app.json(Method::POST, &format!("/api/messages/{id}/retry"), agent, json!({})).await.error(StatusCode::CONFLICT, "conflict");
    app.json(Method::POST, &format!("/api/messages/{id}/retry"), &app.globex.agent.token, json!({}))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::POST, "/api/messages/nope/retry", agent, json!({})).await.error(StatusCode::NOT_FOUND, "not_found");

    let counts = app.get("/api/threads/counts", agent).await;
    assert_eq!(counts.status, StatusCode::OK);
    assert_eq!(counts.body, json!({ "open": 1, "snoozed": 0, "resolved": 0, "all": 1, "mine": 0, "unassigned": 1 }));
    app.get("/api/threads/counts", &Auth::None).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
}
