//! WhatsApp's rules end to end (issue 14 parts 4 and 5): the 24-hour window refuses a free-form
//! send before anything reaches Twilio, an approved template (synced from a fake Content API)
//! goes out with `ContentSid` + `ContentVariables` and shows its rendered text in the thread, an
//! inbound message opens the window live, and a scheduled message that comes due after the
//! window closed fails without a carrier request. A new conversation starts with a template (by
//! contact and channel), and a failed template message is retried as the template.

use crate::support::content_api::{serves_contents, text_content};
use crate::support::twilio::*;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const PHONE: &str = "+447911123456";

/// A server sending to a fake Twilio (REST and Content API on one fake), a team with a real
/// WhatsApp number, and a contact's WhatsApp thread the contact last wrote to `hours_ago`
/// hours ago: (server, admin, account, thread id, fake Twilio, database).
async fn whatsapp_thread(opts: &PgConnectOptions, hours_ago: f64) -> (TestServer, Agent, Account, String, MockServer, PgPool) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.twilio_content_api_base = twilio.uri();
    })
    .await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "whatsapp", &account, None).await;
    let (_, thread) = contact_thread(&a, "Kenji Tanaka", PHONE, "whatsapp").await;
    // The contact's last message, before any actor of the thread started.
    let db = PgPool::connect_with(opts.clone()).await.unwrap();
    let id: uuid::Uuid = thread.parse().unwrap();
    sqlx::query("UPDATE threads SET last_inbound_at = now() - make_interval(secs => $2) WHERE id = $1")
        .bind(id)
        .bind(hours_ago * 3600.0)
        .execute(&db)
        .await
        .unwrap();
    (server, a, account, thread, twilio, db)
}

fn content_sid() -> String {
    format!("HX{}", hex32())
}

#[sqlx::test]
async fn outside_the_window_a_free_form_send_is_refused_and_a_template_goes_with_content_sid(_p: PgPoolOptions, opts: PgConnectOptions) {
    let (server, a, account, thread, twilio, _db) = whatsapp_thread(&opts, 25.0).await;
    accepts_sends(&account).mount(&twilio).await;

    // The thread knows its window is closed.
    let (summary, _) = thread_view(&a, &thread).await;
    assert_eq!(summary["whatsapp_window_closes_at"], Value::Null, "{summary}");

    // A free-form message is refused before anything is stored or sent.
    let (status, body) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "Are you there?" })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "window_closed", "{body}");
    let (_, messages) = thread_view(&a, &thread).await;
    assert!(messages.is_empty(), "nothing stored: {messages:?}");
    assert!(twilio.received_requests().await.unwrap().iter().all(|r| r.method.as_str() != "POST"), "nothing reached Twilio");

    // The admin syncs the account's approved templates from the Content API (two pages).
    let (order_sid, other_sid) = (content_sid(), content_sid());
    let order = text_content(&order_sid, "order_ready", "Hi {{1}}, your order {{2}} is ready for pickup.", &[("1", "Ana"), ("2", "#1")]);
    let other = text_content(&other_sid, "follow_up", "Still need help with {{topic}}?", &[("topic", "billing")]);
    serves_contents(&twilio, &account, vec![order], vec![other]).await;
    let (status, report) = a.client.post("/api/templates/sync", json!({})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["synced"], 2, "both pages: {report}");
    let (status, list) = a.client.get("/api/templates?channel_kind=whatsapp").await;
    assert_eq!(status, 200, "{list}");
    let template = list["items"].as_array().unwrap().iter().find(|t| t["content_sid"] == order_sid.as_str()).expect("synced").clone();
    assert_eq!(template["name"], "order_ready");
    assert_eq!(template["variables"][0], json!({ "key": "1", "example": "Ana" }));
    // A second sync changes nothing.
    let (_, again) = a.client.post("/api/templates/sync", json!({})).await;
    assert_eq!(again["synced"], 0, "{again}");

    // Variable 1 defaults to the contact's first name (the one template engine fills it in).
    let id = template["id"].as_str().unwrap();
    let vars = json!([{ "key": "1", "example": "Ana", "default": "{{contact.first_name}}" }, { "key": "2", "example": "#1" }]);
    let (status, patched) = a.client.patch(&format!("/api/templates/{id}"), json!({ "variables": vars })).await;
    assert_eq!(status, 200, "{patched}");

    // A template send with a value missing is refused; with it, it goes.
    let (status, body) = a.client.post("/api/messages", json!({ "thread_id": thread, "template_id": id })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "missing_variables", "{body}");
    let (status, msg) =
        a.client.post("/api/messages", json!({ "thread_id": thread, "template_id": id, "variables": { "2": "#1042" } })).await;
    assert_eq!(status, 201, "{msg}");
    assert_eq!(msg["body"], "Hi Kenji, your order #1042 is ready for pickup.", "the thread shows the rendered text");
    let sent = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    assert!(sent["provider_sid"].as_str().unwrap().starts_with("SM"), "{sent}");

    // Exactly one request reached Twilio: ContentSid and ContentVariables, no Body.
    let posts: Vec<Form> = twilio.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").map(form_of).collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let form = &posts[0];
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("ContentSid").as_deref(), Some(order_sid.as_str()));
    let variables: Value = serde_json::from_str(&get("ContentVariables").expect("ContentVariables")).unwrap();
    assert_eq!(variables, json!({ "1": "Kenji", "2": "#1042" }), "a JSON object string keyed as the template is");
    assert_eq!(get("Body"), None, "Twilio renders the approved text itself");
    assert_eq!(get("To").as_deref(), Some(format!("whatsapp:{PHONE}").as_str()));
    assert_eq!(get("From").as_deref(), Some(format!("whatsapp:{NUMBER}").as_str()));
    server.stop().await;
}

#[sqlx::test]
async fn an_inbound_message_opens_the_window_live(_p: PgPoolOptions, opts: PgConnectOptions) {
    let (server, a, account, thread, twilio, _db) = whatsapp_thread(&opts, 30.0).await;
    accepts_sends(&account).mount(&twilio).await;
    let mut team = a.socket(&server).await;
    team.subscribe(&format!("presence-team-{}", a.team_id)).await;

    let from = format!("whatsapp:{PHONE}");
    let params = with(
        with(inbound_params(&account, &from, &format!("SM{}", hex32()), "Hello again"), "To", &format!("whatsapp:{NUMBER}")),
        "ProfileName",
        "Kenji",
    );
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await);

    // Every inbox hears the thread's window open: about 24 hours from now.
    let deadline = tokio::time::Instant::now() + WAIT;
    let closes = loop {
        let update = team.expect_data("thread.updated", WAIT).await;
        let row = if update["thread"].is_object() { &update["thread"] } else { &update };
        if row["id"] == thread.as_str() && row["whatsapp_window_closes_at"].is_string() {
            break row["whatsapp_window_closes_at"].as_str().unwrap().to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no thread.updated with an open window");
    };
    let closes = time::OffsetDateTime::parse(&closes, &time::format_description::well_known::Rfc3339).unwrap();
    let left = closes - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::hours(23) && left <= time::Duration::hours(24), "{left}");

    // Free-form messages go again.
    let msg = send(&a, &thread, "Welcome back!", &[]).await;
    wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    server.stop().await;
}

#[sqlx::test]
async fn a_scheduled_message_due_after_the_window_closed_fails_without_a_carrier_request(_p: PgPoolOptions, opts: PgConnectOptions) {
    // The window closes in two seconds; the message is due in four.
    let (server, a, account, thread, twilio, _db) = whatsapp_thread(&opts, 24.0 - 2.0 / 3600.0).await;
    accepts_sends(&account).mount(&twilio).await;
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let at = at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, msg) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "See you tomorrow", "send_at": at })).await;
    assert_eq!(status, 201, "scheduled inside the window: {msg}");
    let failed = wait_for_status_within(&a, &thread, msg["id"].as_str().unwrap(), "failed", Duration::from_secs(15)).await;
    assert!(failed["error_reason"].as_str().unwrap().starts_with("window_closed"), "{failed}");
    assert!(twilio.received_requests().await.unwrap().iter().all(|r| r.method.as_str() != "POST"), "nothing reached Twilio");
    server.stop().await;
}

/// `wait_for_status` with a longer deadline.
async fn wait_for_status_within(a: &Agent, thread: &str, id: &str, status: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (_, messages) = thread_view(a, thread).await;
        let msg = messages.into_iter().find(|m| m["id"] == id).expect("the message is in its thread");
        if msg["status"] == status {
            return msg;
        }
        assert!(tokio::time::Instant::now() < deadline, "message {id} never became {status}: {msg}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A first WhatsApp message to a contact (no thread yet, so no window): free-form is refused,
/// an approved template goes (previewed and sent by contact and channel), and when the carrier
/// refuses it, the retry sends the same template again, never the rendered text as free-form.
#[sqlx::test]
async fn a_new_whatsapp_conversation_starts_with_a_template_and_its_retry_is_the_template_again(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "whatsapp", &account, None).await;
    let (status, contact) = a.client.post("/api/contacts", json!({ "name": "Kenji Tanaka", "phone": PHONE })).await;
    assert_eq!(status, 201, "{contact}");
    let sid = content_sid();
    let vars = json!([{ "key": "1", "default": "{{contact.first_name}}" }, { "key": "2", "example": "#1" }]);
    let (status, template) = a
        .client
        .post("/api/templates", json!({ "name": "welcome", "channel_kind": "whatsapp", "content_sid": sid, "body": "Hi {{1}}, about {{2}}.", "variables": vars }))
        .await;
    assert_eq!(status, 201, "{template}");
    let to = json!({ "contact_id": contact["id"], "channel": "whatsapp" });

    // The preview for the contact fills the default in and lists what is missing.
    let mut preview = to.clone();
    preview["variables"] = json!({});
    let (status, r) = a.client.post(&format!("/api/templates/{}/preview", template["id"].as_str().unwrap()), preview).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["text"], "Hi Kenji, about {{2}}.", "{r}");
    assert_eq!(r["missing"], json!(["2"]), "{r}");

    // Free-form: the window was never opened.
    let mut free = to.clone();
    free["body"] = json!("Hello!");
    let (status, body) = a.client.post("/api/messages", free).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "window_closed", "{body}");

    // The carrier refuses the first request, then accepts.
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(refused(400, 21211, "Invalid 'To' Phone Number"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&twilio)
        .await;
    accepts_sends(&account).mount(&twilio).await;
    let mut send = to.clone();
    send["template_id"] = template["id"].clone();
    send["variables"] = json!({ "2": "order #1042" });
    let (status, msg) = a.client.post("/api/messages", send).await;
    assert_eq!(status, 201, "{msg}");
    assert_eq!(msg["body"], "Hi Kenji, about order #1042.");
    assert_eq!(msg["content"], json!({ "sid": sid, "variables": { "1": "Kenji", "2": "order #1042" } }), "{msg}");
    let thread = msg["thread_id"].as_str().unwrap().to_owned();
    let failed = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "failed").await;
    assert_eq!(failed["content"], msg["content"], "the failed message keeps its template: {failed}");

    let (status, retried) = a.client.post(&format!("/api/messages/{}/retry", msg["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(status, 201, "{retried}");
    assert_ne!(retried["id"], msg["id"]);
    assert_eq!(retried["content"], msg["content"], "{retried}");
    wait_for_status(&a, &thread, retried["id"].as_str().unwrap(), "sent").await;

    let posts: Vec<Form> = twilio.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").map(form_of).collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    for form in &posts {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("ContentSid").as_deref(), Some(sid.as_str()), "{form:?}");
        let variables: Value = serde_json::from_str(&get("ContentVariables").expect("ContentVariables")).unwrap();
        assert_eq!(variables, json!({ "1": "Kenji", "2": "order #1042" }));
        assert_eq!(get("Body"), None, "never the rendered text as free-form: {form:?}");
    }
    let (_, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages.len(), 2, "the failed one is kept: {messages:?}");
    server.stop().await;
}
