//! Bad input is answered, never stored: 422 naming the field for a value the rules refuse (a
//! NUL byte, an empty body, a bad send time), 400 for JSON that does not parse, 415 for a body
//! that does not say it is JSON, 413 for one over the 64 KiB limit.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn refused_values_are_422_naming_the_field() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let thread = app.acme.thread;
    let send = |body: serde_json::Value| app.json(Method::POST, "/api/messages", agent, body);

    send(json!({ "thread_id": thread, "body": "a\u{0}b" })).await.invalid("body");
    send(json!({ "thread_id": thread, "body": "" })).await.invalid("body");
    send(json!({ "thread_id": thread, "body": "   " })).await.invalid("body");
    send(json!({ "thread_id": thread, "body": "later", "send_at": "2001-01-01T00:00:00Z" })).await.invalid("send_at");
    send(json!({ "thread_id": thread, "body": "later", "send_at": "2999-01-01T00:00:00Z" })).await.invalid("send_at");
    send(json!({ "body": "to whom?" })).await.invalid("thread_id");
    let note = app.json(Method::POST, &format!("/api/threads/{thread}/notes"), agent, json!({ "body": "x\u{0}" })).await;
    note.invalid("body");
    let note = app.json(Method::POST, &format!("/api/threads/{thread}/notes"), agent, json!({ "body": "  " })).await;
    note.invalid("body");
    app.json(Method::PATCH, &format!("/api/threads/{thread}"), agent, json!({})).await.invalid("status");
    assert_eq!(app.store.calls("create_outbound") + app.store.calls("add_note") + app.store.calls("update_thread"), 0, "nothing stored");

    // A send time that is not a time at all is refused by the JSON parser: 422, the field named
    // in the message (not in `field`: serde's path is not a static name).
    let unparsable = send(json!({ "thread_id": thread, "body": "later", "send_at": "tomorrow" })).await;
    let error = unparsable.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(error["message"].as_str().unwrap().starts_with("send_at"), "{error}");

    // A good one goes through.
    let ok = send(json!({ "thread_id": thread, "body": "fine" })).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    for body in ["{", "{\"thread_id\": ", "not json", "{\"body\": \"a\"} trailing"] {
        let reply = app.raw(Method::POST, "/api/messages", agent, Some("application/json"), body).await;
        reply.error(StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(app.store.calls("create_outbound"), 0);
}

#[tokio::test]
async fn a_body_that_does_not_say_it_is_json_is_415() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let body = json!({ "thread_id": app.acme.thread, "body": "hi" }).to_string();
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let reply = app.raw(Method::POST, "/api/messages", agent, content_type, &body).await;
        reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    assert_eq!(app.store.calls("create_outbound"), 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = App::start(|_| {}).await;
    let body = json!({ "thread_id": app.acme.thread, "body": "x".repeat(70_000) }).to_string();
    let reply = app.raw(Method::POST, "/api/messages", &app.acme.agent.token, Some("application/json"), &body).await;
    reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.store.calls("create_outbound"), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = App::start(|_| {}).await;
    app.get("/api/nope", &Auth::None).await.error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::PUT, "/api/threads", &app.acme.agent.token, json!({}))
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn a_send_with_a_missing_variable_is_422_with_the_list_and_never_stored() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let body = "Hi {{contact.first_name}}, your order for {{contact.company}} and {{ contact.email }}";
    let reply = app.json(Method::POST, "/api/messages", agent, json!({ "thread_id": app.acme.thread, "body": body, "render": true })).await;
    let error = reply.error(StatusCode::UNPROCESSABLE_ENTITY, "missing_variables");
    assert_eq!(error["missing"], json!(["contact.company", "contact.email"]), "{error}");
    let bad = app
        .json(Method::POST, "/api/messages", agent, json!({ "thread_id": app.acme.thread, "body": "{{ 1 + 1 }}", "render": true }))
        .await;
    bad.invalid("body");
    assert_eq!(app.store.calls("create_outbound"), 0, "nothing stored");
}
