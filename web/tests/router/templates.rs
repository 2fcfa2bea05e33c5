//! Approved templates at the edge: admins manage them (403 for agents, 404 for another team's),
//! bad sids, bodies and variables are 422 naming the field, a sync needs a Twilio number, a
//! template send refuses a template of the other channel kind and a missing value (nothing
//! stored), and a complete one is stored with its rendered text.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

fn sid() -> String {
    format!("HX{}", "0123456789abcdef".repeat(2))
}

#[tokio::test]
async fn templates_are_managed_by_admins_of_their_own_team() {
    let app = App::start(|_| {}).await;
    let (admin, agent) = (&app.acme.admin.token, &app.acme.agent.token);
    let good = json!({ "name": "Hours", "channel_kind": "sms", "body": "Open {{1}} to {{2}}." });
    app.json(Method::POST, "/api/templates", agent, good.clone()).await.error(StatusCode::FORBIDDEN, "forbidden");
    let bad_sid = json!({ "name": "x", "channel_kind": "whatsapp", "content_sid": "HX12", "body": "Hi" });
    app.json(Method::POST, "/api/templates", admin, bad_sid).await.invalid("content_sid");
    let bad_body = json!({ "name": "x", "channel_kind": "whatsapp", "body": "Hi {{contact.name}}" });
    app.json(Method::POST, "/api/templates", admin, bad_body).await.invalid("body");
    let bad_key = json!({ "name": "x", "channel_kind": "whatsapp", "body": "Hi {{1}}", "variables": [{ "key": "two words" }] });
    app.json(Method::POST, "/api/templates", admin, bad_key).await.invalid("variables");
    app.json(Method::POST, "/api/templates", admin, json!({ "name": "x", "channel_kind": "fax", "body": "Hi" }))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");

    let created = app.json(Method::POST, "/api/templates", admin, good).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["variables"], json!([{ "key": "1" }, { "key": "2" }]), "every placeholder gets a variable");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let wa = json!({ "name": "Order", "channel_kind": "whatsapp", "content_sid": sid(), "body": "Hi {{1}}" });
    assert_eq!(app.json(Method::POST, "/api/templates", admin, wa.clone()).await.status, StatusCode::CREATED);
    app.json(Method::POST, "/api/templates", admin, wa).await.error(StatusCode::CONFLICT, "conflict");

    let listed = app.get("/api/templates?channel_kind=sms", agent).await;
    assert_eq!((listed.status, listed.body["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "{listed:?}");
    assert_eq!(app.get("/api/templates", &app.globex.agent.token).await.body["items"], json!([]), "another team's are not listed");
    let theirs = &app.globex.admin.token;
    app.json(Method::PATCH, &format!("/api/templates/{id}"), theirs, json!({ "name": "Mine" }))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::DELETE, &format!("/api/templates/{id}"), theirs, json!(null)).await.error(StatusCode::NOT_FOUND, "not_found");
    app.json(Method::DELETE, &format!("/api/templates/{id}"), agent, json!(null)).await.error(StatusCode::FORBIDDEN, "forbidden");

    // A team on the simulator has no Content API to sync from.
    app.json(Method::POST, "/api/templates/sync", admin, json!({})).await.invalid("content_api");

    let deleted = app.json(Method::DELETE, &format!("/api/templates/{id}"), admin, json!(null)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    let audit = app.get("/api/audit", admin).await;
    assert!(audit.body.to_string().contains("template.deleted"), "audit-logged: {audit:?}");
}

#[tokio::test]
async fn a_template_send_is_refused_for_the_other_kind_or_a_missing_value_and_stored_rendered() {
    let app = App::start(|_| {}).await;
    let (admin, agent) = (&app.acme.admin.token, &app.acme.agent.token);
    let thread = app.acme.thread;
    let sms = app
        .json(Method::POST, "/api/templates", admin, json!({ "name": "Hours", "channel_kind": "sms", "body": "Hi {{1}}, open {{2}}." }))
        .await;
    let wa = app
        .json(
            Method::POST,
            "/api/templates",
            admin,
            json!({ "name": "Order", "channel_kind": "whatsapp", "content_sid": sid(), "body": "Hi" }),
        )
        .await;
    let (sms, wa) = (sms.body["id"].clone(), wa.body["id"].clone());

    app.json(Method::POST, "/api/messages", agent, json!({ "thread_id": thread, "template_id": wa })).await.invalid("template_id");
    let missing = app
        .json(Method::POST, "/api/messages", agent, json!({ "thread_id": thread, "template_id": sms, "variables": { "1": "Ann" } }))
        .await;
    assert_eq!(missing.error(StatusCode::UNPROCESSABLE_ENTITY, "missing_variables")["missing"], json!(["2"]));
    let unknown = json!({ "thread_id": thread, "template_id": sms, "variables": { "3": "x" } });
    app.json(Method::POST, "/api/messages", agent, unknown).await.invalid("variables");
    let both = json!({ "thread_id": thread, "template_id": sms, "body": "hi" });
    app.json(Method::POST, "/api/messages", agent, both).await.invalid("body");
    let view = app.get(&format!("/api/threads/{thread}"), agent).await;
    assert_eq!(view.body["messages"], json!([]), "nothing stored");

    let preview = app
        .json(
            Method::POST,
            &format!("/api/templates/{}/preview", sms.as_str().unwrap()),
            agent,
            json!({ "thread_id": thread, "variables": { "1": "Ann" } }),
        )
        .await;
    assert_eq!(preview.body, json!({ "text": "Hi Ann, open {{2}}.", "missing": ["2"] }), "{preview:?}");
    let sent = app
        .json(
            Method::POST,
            "/api/messages",
            agent,
            json!({ "thread_id": thread, "template_id": sms, "variables": { "1": "Ann", "2": "9 to 5" } }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    assert_eq!(sent.body["body"], "Hi Ann, open 9 to 5.");
}
