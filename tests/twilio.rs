//! End-to-end tests of the Twilio edge: the exact REST request a send makes (against a fake
//! Twilio started by each test), how refusals and rate limits end, signed inbound webhooks and
//! status callbacks (and the forged, malformed and oversized ones that must write nothing),
//! STOP/START opt-out, the trial guard, and the built-in simulator loop.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The receiving number of every real channel here (Twilio's own magic test number).
const NUMBER: &str = "+15005550006";

/// What the webhooks answer: "received, nothing to say".
const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response />"#;

/// A form as Twilio posts it: names and values in order, names may repeat.
type Form = Vec<(String, String)>;

/// 32 hex digits: the tail of a Twilio sid, or an auth token.
fn hex32() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A Twilio account as the test knows it: what it gives the server and signs webhooks with.
struct Account {
    sid: String,
    token: String,
}

impl Account {
    fn new() -> Account {
        Account { sid: format!("AC{}", hex32()), token: hex32() }
    }

    /// The REST path a send posts to.
    fn messages_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}/Messages.json", self.sid)
    }

    /// HTTP Basic auth with `AccountSid:AuthToken`.
    fn basic_auth(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.sid, self.token)))
    }
}

/// Adds a real (non-simulated) channel as the admin; the team leaves simulator mode.
async fn add_channel(a: &Agent, kind: &str, account: &Account, service: Option<&str>) -> Value {
    let (status, channel) = a
        .client
        .post(
            "/api/channels",
            json!({ "kind": kind, "number": NUMBER, "account_sid": account.sid, "auth_token": account.token,
                    "messaging_service_sid": service }),
        )
        .await;
    assert_eq!(status, 201, "channel: {channel}");
    assert_eq!(channel["simulated"], false);
    assert!(!channel.to_string().contains(&account.token), "the auth token is write-only: {channel}");
    channel
}

/// Creates a contact and its thread on `kind` (the real channel is picked before the simulated
/// one); returns (contact id, thread id).
async fn contact_thread(a: &Agent, name: &str, phone: &str, kind: &str) -> (String, String) {
    let (status, contact) = a.client.post("/api/contacts", json!({ "name": name, "phone": phone })).await;
    assert_eq!(status, 201, "contact: {contact}");
    let (status, thread) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": kind })).await;
    assert_eq!(status, 200, "thread: {thread}");
    (contact["id"].as_str().unwrap().to_owned(), thread["id"].as_str().unwrap().to_owned())
}

/// `GET /api/threads/{id}`: (thread summary, messages oldest first).
async fn thread_view(a: &Agent, thread: &str) -> (Value, Vec<Value>) {
    let (status, body) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(status, 200, "thread: {body}");
    (body["thread"].clone(), body["messages"].as_array().unwrap().clone())
}

/// Polls the thread until message `id` has `status`; returns the message.
async fn wait_for_status(a: &Agent, thread: &str, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, messages) = thread_view(a, thread).await;
        let msg = messages.into_iter().find(|m| m["id"] == id).expect("the message is in its thread");
        if msg["status"] == status {
            return msg;
        }
        assert!(tokio::time::Instant::now() < deadline, "message {id} never became {status}: {msg}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a message now; returns it as the API answered.
async fn send(a: &Agent, thread: &str, body: &str, media_urls: &[&str]) -> Value {
    let (status, msg) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": body, "media_urls": media_urls })).await;
    assert_eq!(status, 201, "send: {msg}");
    msg
}

/// Twilio's answer to a created message.
fn created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "sid": sid, "status": "queued", "num_segments": "1" }))
}

/// Twilio's answer to a refused message.
fn refused(status: u16, code: i32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

/// A fake Twilio answering every send on `account` with a fresh sid.
fn accepts_sends(account: &Account) -> Mock {
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .and(header("authorization", account.basic_auth().as_str()))
        .respond_with(|_: &wiremock::Request| created(&format!("SM{}", hex32())))
}

/// The form a request to the fake Twilio carried, sorted by name (repeated names keep their
/// order: Twilio reads the form, not its order, but MediaUrl order is the media order).
fn form_of(req: &wiremock::Request) -> Form {
    let mut form: Form = serde_urlencoded::from_bytes(&req.body).expect("a form-encoded body");
    form.sort_by(|a, b| a.0.cmp(&b.0));
    form
}

fn pairs(list: &[(&str, &str)]) -> Form {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sorted(mut form: Form) -> Form {
    form.sort_by(|a, b| a.0.cmp(&b.0));
    form
}

/// What a webhook answered.
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

/// POSTs a form to one of our webhooks with `X-Twilio-Signature: signature` (none when `None`).
async fn post_form(server: &TestServer, path: &str, signature: Option<&str>, params: &[(String, String)]) -> Reply {
    let mut req = reqwest::Client::new().post(format!("{}{path}", server.base)).form(params);
    if let Some(sig) = signature {
        req = req.header("X-Twilio-Signature", sig);
    }
    reply(req).await
}

/// POSTs raw bytes with a content type (for bodies no well-behaved client would build).
async fn post_bytes(server: &TestServer, path: &str, signature: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let req = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .header("X-Twilio-Signature", signature)
        .header("content-type", content_type)
        .body(body);
    reply(req).await
}

async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    Reply { status, content_type, body: res.text().await.unwrap_or_default() }
}

/// POSTs a form signed as Twilio signs it: with `token`, over our public URL of `path`.
async fn post_signed(server: &TestServer, path: &str, token: &str, params: &[(String, String)]) -> Reply {
    let sig = web::twilio_signature::sign(token, &format!("{}{path}", server.base), params);
    post_form(server, path, Some(&sig), params).await
}

/// Asserts the webhook took the request: 200 with the empty TwiML document.
fn assert_twiml(r: &Reply) {
    assert_eq!(r.status, 200, "webhook refused: {}", r.body);
    assert_eq!(r.body, EMPTY_TWIML);
    assert!(r.content_type.starts_with("text/xml"), "content-type {:?}", r.content_type);
}

/// The parameters of an inbound SMS as Twilio posts them.
fn inbound_params(account: &Account, from: &str, sid: &str, body: &str) -> Form {
    pairs(&[
        ("AccountSid", &account.sid),
        ("ApiVersion", "2010-04-01"),
        ("Body", body),
        ("From", from),
        ("FromCountry", "US"),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsMessageSid", sid),
        ("SmsStatus", "received"),
        ("To", NUMBER),
        ("ToCountry", "US"),
    ])
}

/// Replaces (or adds) one parameter.
fn with(mut params: Form, name: &str, value: &str) -> Form {
    params.retain(|(k, _)| k != name);
    params.push((name.to_owned(), value.to_owned()));
    params
}

fn without(mut params: Form, name: &str) -> Form {
    params.retain(|(k, _)| k != name);
    params
}

/// The parameters of a status callback as Twilio posts them.
fn status_params(account: &Account, sid: &str, status: &str, to: &str, error: Option<&str>) -> Form {
    let mut p = pairs(&[
        ("AccountSid", &account.sid),
        ("ApiVersion", "2010-04-01"),
        ("From", NUMBER),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("To", to),
    ]);
    if let Some(code) = error {
        p.push(("ErrorCode".to_owned(), code.to_owned()));
    }
    p
}

/// Rows in the tables a webhook writes to: (messages, webhook receipts, contacts).
async fn rows(db: &PgPool) -> (i64, i64, i64) {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(db).await.unwrap()
    };
    (count("messages").await, count("webhook_receipts").await, count("contacts").await)
}

/// Asserts the server still answers its health check.
async fn assert_healthy(a: &Agent) {
    let (status, body) = a.client.get("/healthz").await;
    assert_eq!(status, 200, "healthz: {body}");
}

/// Asserts the team sees no thread and no contact.
async fn assert_nothing_visible(a: &Agent) {
    let (_, threads) = a.client.get("/api/threads").await;
    assert_eq!(threads["items"], json!([]), "threads: {threads}");
    let (_, contacts) = a.client.get("/api/contacts").await;
    assert_eq!(contacts["items"], json!([]), "contacts: {contacts}");
}

// ---------------------------------------------------------------------------------------------
// Sending through the Twilio REST API
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn a_send_posts_exactly_the_twilio_request_and_records_the_sid(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A fake Twilio, and a server that sends to it.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;

    // The admin connects a real Twilio number; the contact's SMS thread uses it.
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550123", "sms").await;
    let (summary, _) = thread_view(&a, &thread).await;
    assert_eq!(summary["channel"]["id"], channel["id"], "the real channel is picked first");

    // Twilio accepts the message once, and only with the account's Basic credentials.
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .and(header("authorization", account.basic_auth().as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(created(&sid))
        .expect(1)
        .named("create message")
        .mount(&twilio)
        .await;

    // An agent watching the thread.
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // Alice sends a text with two pictures; characters that need encoding ride along.
    let body = "Your order #42 shipped 📦 & is on its way: 100% sure + tracked";
    let media = ["https://cdn.example.com/a.jpg?size=large&v=2", "https://cdn.example.com/b.png"];
    let msg = send(&a, &thread, body, &media).await;
    assert_eq!(msg["direction"], "outbound");
    assert_eq!(msg["status"], "queued");
    let id = msg["id"].as_str().unwrap().to_owned();

    // The socket sees it created, then sent with Twilio's sid.
    let created_ev = ws.expect_data("message.created", WAIT).await;
    assert_eq!(created_ev["data"]["id"], id);
    let updated = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(updated["data"]["status"], "sent");
    assert_eq!(updated["data"]["provider_sid"], sid);

    // The thread agrees.
    let sent = wait_for_status(&a, &thread, &id, "sent").await;
    assert_eq!(sent["provider_sid"], sid);
    assert!(sent["sent_at"].is_string(), "{sent}");
    assert_eq!(sent["error_code"], Value::Null);
    assert_eq!(sent["error_reason"], Value::Null);

    // Exactly one request, carrying exactly Twilio's form: To, From, Body, one MediaUrl per URL
    // (in order), and our status callback.
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), format!("/2010-04-01/Accounts/{}/Messages.json", account.sid));
    assert_eq!(req.headers.get("authorization").unwrap().to_str().unwrap(), account.basic_auth());
    let callback = format!("{}/webhooks/twilio/status", server.base);
    assert_eq!(
        form_of(req),
        sorted(pairs(&[
            ("To", "+14155550123"),
            ("From", NUMBER),
            ("Body", body),
            ("MediaUrl", media[0]),
            ("MediaUrl", media[1]),
            ("StatusCallback", &callback),
        ]))
    );
    twilio.verify().await;
    server.stop().await;
}

#[sqlx::test]
async fn a_channel_with_a_messaging_service_sends_through_it(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;

    // A WhatsApp sender behind a Messaging Service.
    let account = Account::new();
    let service = format!("MG{}", hex32());
    add_channel(&a, "whatsapp", &account, Some(&service)).await;
    let (_, thread) = contact_thread(&a, "Dmitri", "+447911123456", "whatsapp").await;
    let guard = accepts_sends(&account).expect(1).mount_as_scoped(&twilio).await;

    let msg = send(&a, &thread, "Привет!", &[]).await;
    wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;

    // The service replaces From; WhatsApp addresses carry their prefix; no media, no MediaUrl.
    let requests = guard.received_requests().await;
    assert_eq!(requests.len(), 1);
    let callback = format!("{}/webhooks/twilio/status", server.base);
    assert_eq!(
        form_of(&requests[0]),
        sorted(pairs(&[
            ("To", "whatsapp:+447911123456"),
            ("MessagingServiceSid", &service),
            ("Body", "Привет!"),
            ("StatusCallback", &callback),
        ]))
    );
    drop(guard);
    server.stop().await;
}

#[sqlx::test]
async fn twilio_refusals_fail_the_message_with_a_reason_and_are_not_retried(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    add_channel(&a, "whatsapp", &account, None).await;

    // Each refusal Twilio gives for a message that will never go out as it is.
    let cases = [
        (21610, "sms", "+14155550131", "Attempt to send to unsubscribed recipient", "unsubscribed"),
        (21608, "sms", "+14155550132", "The number is unverified. Trial accounts cannot send messages to unverified numbers", "unverified"),
        (21211, "sms", "+14155550133", "The 'To' number is not a valid phone number.", "invalid 'To'"),
        (63016, "whatsapp", "+14155550134", "Failed to send freeform message because you are outside the allowed window.", "24-hour"),
    ];
    for (code, kind, phone, twilio_message, words) in cases {
        // A fresh fake for each case: it refuses, and must be asked exactly once.
        twilio.reset().await;
        Mock::given(method("POST"))
            .and(path(account.messages_path()))
            .respond_with(refused(400, code, twilio_message))
            .expect(1)
            .named(format!("refusal {code}"))
            .mount(&twilio)
            .await;
        let (_, thread) = contact_thread(&a, &format!("Contact {code}"), phone, kind).await;
        let msg = send(&a, &thread, "hello", &[]).await;

        // The message fails with the code and a reason a person can read.
        let failed = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "failed").await;
        assert_eq!(failed["error_code"], code, "{failed}");
        let reason = failed["error_reason"].as_str().unwrap();
        assert!(reason.contains(words) && reason.contains(&code.to_string()), "{code}: {reason}");
        assert_eq!(failed["provider_sid"], Value::Null);

        // Failed is final: the send was not tried again (the failure is recorded only after
        // the carrier gave up, so any retry would already have reached the fake).
        twilio.verify().await;
    }
    server.stop().await;
}

#[sqlx::test]
async fn rate_limits_are_retried_until_twilio_accepts(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550123", "sms").await;

    // First a 429, then a 400 carrying code 20429 (Twilio's "too many requests"), then success.
    // Mocks are tried in mounting order, each used up after one answer.
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(refused(429, 20429, "Too Many Requests"))
        .up_to_n_times(1)
        .expect(1)
        .named("429")
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(refused(400, 20429, "Too Many Requests"))
        .up_to_n_times(1)
        .expect(1)
        .named("code 20429")
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(created(&sid))
        .expect(1)
        .named("accepted")
        .mount(&twilio)
        .await;

    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let msg = send(&a, &thread, "eventually", &[]).await;

    // The only status change anyone sees is the final one: sent, with the sid of the success.
    let updated = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(updated["data"]["status"], "sent", "{updated}");
    assert_eq!(updated["data"]["provider_sid"], sid);
    let sent = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    assert_eq!(sent["error_code"], Value::Null);

    // Three tries of the same form.
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| form_of(r) == form_of(&requests[0])));
    twilio.verify().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Inbound webhooks
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn a_signed_inbound_webhook_is_stored_once_and_fanned_out(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;

    // Alice watches the inbox.
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;

    // A new person texts a picture. Twilio sends parameters we do not know too.
    let sid = format!("SM{}", hex32());
    let picture = format!("https://api.twilio.com/2010-04-01/Accounts/{}/Messages/{sid}/Media/ME{}", account.sid, hex32());
    let mut params = inbound_params(&account, "+14155550123", &sid, "Hi! Is my order ready?");
    params = with(params, "NumMedia", "1");
    params.extend(pairs(&[
        ("MediaUrl0", &picture),
        ("MediaContentType0", "image/jpeg"),
        ("ProfileName", "Dana Scully"),
        ("SomeFutureParam", "kept as received"),
    ]));
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_twiml(&r);

    // The inbox hears of a new thread on the real channel, named after the profile.
    let created = ws.expect_data("thread.created", WAIT).await;
    let thread = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["contact"]["phone"], "+14155550123");
    assert_eq!(created["contact"]["name"], "Dana Scully");
    assert_eq!(created["channel"]["id"], channel["id"]);
    assert_eq!(created["unread_count"], 1);

    // The message is stored with its media.
    let (_, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["direction"], "inbound");
    assert_eq!(m["status"], "received");
    assert_eq!(m["channel"], "sms");
    assert_eq!(m["body"], "Hi! Is my order ready?");
    assert_eq!(m["provider_sid"], sid);
    assert_eq!(m["media"], json!([{ "url": picture, "content_type": "image/jpeg" }]));

    // The raw receipt keeps what we did not understand.
    let kept: Option<String> = sqlx::query_scalar("SELECT params->>'SomeFutureParam' FROM webhook_receipts WHERE message_sid = $1")
        .bind(&sid)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("kept as received"));

    // Now watching the thread too: the next message, with two attachments, arrives there.
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let sid2 = format!("SM{}", hex32());
    let (one, two) = ("https://media.example.com/1.jpg", "https://media.example.com/2.pdf");
    let mut second = inbound_params(&account, "+14155550123", &sid2, "and the receipt");
    second = with(second, "NumMedia", "2");
    second.extend(pairs(&[
        ("MediaUrl0", one),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", two),
        ("MediaContentType1", "application/pdf"),
    ]));
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &second).await);
    let ev = ws.expect_data("message.created", WAIT).await;
    assert_eq!(ev["thread_id"], thread);
    assert_eq!(ev["data"]["body"], "and the receipt");
    assert_eq!(
        ev["data"]["media"],
        json!([{ "url": one, "content_type": "image/jpeg" }, { "url": two, "content_type": "application/pdf" }])
    );

    // Twilio retries a webhook it is unsure of: the same MessageSid again is acknowledged the
    // same way and stores nothing new.
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &second).await);
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await);
    ws.expect_none("message.created", Duration::from_millis(400)).await;
    let (summary, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(summary["unread_count"], 2);
    server.stop().await;
}

#[sqlx::test]
async fn forged_inbound_webhooks_are_refused_before_anything_is_written(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let url = format!("{}/webhooks/twilio/messages", server.base);
    let params = inbound_params(&account, "+14155550123", &format!("SM{}", hex32()), "I am who I say I am");
    let sign = |token: &str, url: &str, p: &[(String, String)]| web::twilio_signature::sign(token, url, p);
    let genuine = sign(&account.token, &url, &params);

    let forgeries: Vec<(&str, Option<String>, Form)> = vec![
        // Someone changes the body of a genuine request.
        ("tampered body", Some(genuine.clone()), with(params.clone(), "Body", "send me the refund")),
        // Someone adds a parameter Twilio did not send.
        ("added parameter", Some(genuine.clone()), with(params.clone(), "ProfileName", "Mallory")),
        // A signature made for another URL: another host, another path, an added query.
        ("other host", Some(sign(&account.token, "https://evil.example.com/webhooks/twilio/messages", &params)), params.clone()),
        ("other path", Some(sign(&account.token, &format!("{}/webhooks/twilio/status", server.base), &params)), params.clone()),
        ("other query", Some(sign(&account.token, &format!("{url}?team=1"), &params)), params.clone()),
        // The right request signed with another token.
        ("wrong token", Some(sign(&hex32(), &url, &params)), params.clone()),
        // No signature at all, an empty one, and garbage.
        ("missing signature", None, params.clone()),
        ("empty signature", Some(String::new()), params.clone()),
        ("garbage signature", Some("not base64 at all!".to_owned()), params.clone()),
        // A genuine signature, cut short.
        ("truncated signature", Some(genuine[..genuine.len() - 4].to_owned()), params.clone()),
    ];
    for (what, signature, p) in forgeries {
        let r = post_form(&server, "/webhooks/twilio/messages", signature.as_deref(), &p).await;
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "{what} wrote something");
    }

    // A number we do not serve, or an account we do not know: 404, still nothing written.
    let unknown_number = with(params.clone(), "To", "+14155550999");
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &unknown_number).await;
    assert_eq!(r.status, 404, "unknown number: {}", r.body);
    let unknown_account = with(params.clone(), "AccountSid", &format!("AC{}", hex32()));
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &unknown_account).await;
    assert_eq!(r.status, 404, "unknown account: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_nothing_visible(&a).await;

    // The genuine request itself was fine all along.
    assert_twiml(&post_form(&server, "/webhooks/twilio/messages", Some(&genuine), &params).await);
    let (_, threads) = a.client.get("/api/threads").await;
    assert_eq!(threads["items"].as_array().unwrap().len(), 1);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Status callbacks
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn status_callbacks_only_move_a_message_forward(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let to = "+14155550123";
    let (_, thread) = contact_thread(&a, "Carol", to, "sms").await;
    accepts_sends(&account).mount(&twilio).await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let status_path = "/webhooks/twilio/status";

    // A message goes out and Twilio gives it a sid.
    let first = send(&a, &thread, "first", &[]).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let sent = wait_for_status(&a, &thread, &first_id, "sent").await;
    let sid1 = sent["provider_sid"].as_str().unwrap().to_owned();
    ws.expect_data("message.updated", WAIT).await; // sent

    // Callbacks arrive out of order: delivered, then the older sent and queued.
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid1, "delivered", to, None)).await;
    assert_twiml(&r);
    let ev = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(ev["data"]["status"], "delivered");
    for late in ["sent", "queued"] {
        let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid1, late, to, None)).await;
        assert_twiml(&r);
    }
    // The stale ones are acknowledged but change nothing and announce nothing.
    ws.expect_none("message.updated", Duration::from_millis(400)).await;
    let delivered = wait_for_status(&a, &thread, &first_id, "delivered").await;
    assert!(delivered["delivered_at"].is_string(), "{delivered}");

    // Unsigned, or signed with another token: refused, and the message stays delivered even
    // though a genuine `read` would move it on.
    let read = status_params(&account, &sid1, "read", to, None);
    let r = post_form(&server, status_path, None, &read).await;
    assert_eq!(r.status, 403, "unsigned: {}", r.body);
    let r = post_signed(&server, status_path, &hex32(), &read).await;
    assert_eq!(r.status, 403, "wrong token: {}", r.body);
    let tampered = web::twilio_signature::sign(&account.token, &format!("{}{status_path}", server.base), &read);
    let r = post_form(&server, status_path, Some(&tampered), &with(read.clone(), "MessageStatus", "failed")).await;
    assert_eq!(r.status, 403, "tampered: {}", r.body);
    ws.expect_none("message.updated", Duration::from_millis(300)).await;
    let (_, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages[0]["status"], "delivered");
    // The genuine one does.
    assert_twiml(&post_signed(&server, status_path, &account.token, &read).await);
    wait_for_status(&a, &thread, &first_id, "read").await;

    // A second message fails at the carrier: failed, with the code and a readable reason.
    let second = send(&a, &thread, "second", &[]).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let sid2 = wait_for_status(&a, &thread, &second_id, "sent").await["provider_sid"].as_str().unwrap().to_owned();
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid2, "failed", to, Some("30003"))).await;
    assert_twiml(&r);
    let failed = wait_for_status(&a, &thread, &second_id, "failed").await;
    assert_eq!(failed["error_code"], 30003);
    let reason = failed["error_reason"].as_str().unwrap();
    assert!(reason.contains("unreachable") && reason.contains("30003"), "{reason}");

    // A late `delivered` after `failed` is acknowledged and changes nothing.
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid2, "delivered", to, None)).await;
    assert_twiml(&r);
    let (_, messages) = thread_view(&a, &thread).await;
    let still = messages.iter().find(|m| m["id"] == second_id.as_str()).unwrap();
    assert_eq!(still["status"], "failed");
    assert_eq!(still["delivered_at"], Value::Null);
    assert_eq!(still["error_code"], 30003);

    // A sid we have not recorded (yet), signed by our account for our number, is kept for when
    // the send's answer arrives; from an account we do not know it is a 404; forged, a 403.
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_twiml(&r);
    let stranger = Account::new();
    let r =
        post_signed(&server, status_path, &stranger.token, &status_params(&stranger, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_eq!(r.status, 404, "unknown account: {}", r.body);
    let r = post_signed(&server, status_path, "wrong-token", &status_params(&account, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_eq!(r.status, 403, "forged early callback: {}", r.body);
    server.stop().await;
}

#[sqlx::test]
async fn a_callback_that_beats_the_send_answer_is_applied_when_the_sid_is_recorded(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Twilio answers the send slowly, and its `delivered` callback arrives before that answer.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550124", "sms").await;
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(created(&sid).set_delay(Duration::from_millis(1500)))
        .expect(1)
        .mount(&twilio)
        .await;
    let msg = send(&a, &thread, "early bird", &[]).await;
    let id = msg["id"].as_str().unwrap().to_owned();

    // While the send waits for Twilio, the callback comes in: accepted (200), kept.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r =
        post_signed(&server, "/webhooks/twilio/status", &account.token, &status_params(&account, &sid, "delivered", "+14155550124", None))
            .await;
    assert_twiml(&r);

    // Once Twilio's answer records the sid, the kept callback applies: delivered, not sent.
    let delivered = wait_for_status(&a, &thread, &id, "delivered").await;
    assert_eq!(delivered["provider_sid"], sid);
    assert!(delivered["delivered_at"].is_string());
    twilio.verify().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Opt-out and the trial guard
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn stop_opts_a_contact_out_and_start_opts_them_back_in(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let phone = "+14155550123";
    let (contact, thread) = contact_thread(&a, "Carol", phone, "sms").await;
    let contact_path = format!("/api/contacts/{contact}");
    // Over the whole test exactly one message reaches Twilio: the one sent after START.
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;
    let inbound = |body: &str| inbound_params(&account, phone, &format!("SM{}", hex32()), body);
    let hook = "/webhooks/twilio/messages";

    // An ordinary message that merely contains the word does not opt out.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound("please don't stop the updates")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert_eq!(c["opted_out_at"], Value::Null);

    // Carol replies " stop " (any case, padded): she is opted out, and her message is kept.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound(" stop ")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert!(c["opted_out_at"].is_string(), "opted out: {c}");
    let (summary, messages) = thread_view(&a, &thread).await;
    assert!(summary["contact"]["opted_out_at"].is_string(), "{summary}");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["body"].as_str().unwrap().trim(), "stop");

    // Sending to her now is refused, by thread or by contact, and nothing reaches Twilio.
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "one more thing" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");
    let (status, err) = a.client.post("/api/messages", json!({ "contact_id": contact, "channel": "sms", "body": "one more thing" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.received_requests().await.is_empty(), "an opted-out contact was messaged");
    assert_eq!(thread_view(&a, &thread).await.1.len(), 2, "nothing is stored for a refused send");

    // START opts her back in, and a send goes out.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound("START")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert_eq!(c["opted_out_at"], Value::Null, "opted back in: {c}");
    let msg = send(&a, &thread, "welcome back", &[]).await;
    wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    let requests = fake.received_requests().await;
    assert_eq!(requests.len(), 1);
    assert!(form_of(&requests[0]).contains(&("To".to_owned(), phone.to_owned())));

    // Twilio's own OptOutType parameter is honoured whatever the words.
    let polite = with(inbound("Please remove me from this list"), "OptOutType", "STOP");
    assert_twiml(&post_signed(&server, hook, &account.token, &polite).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert!(c["opted_out_at"].is_string(), "OptOutType=STOP: {c}");
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "sorry to see you go" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");

    drop(fake); // verifies: exactly one request
    server.stop().await;
}

#[sqlx::test]
async fn the_trial_guard_only_sends_to_verified_numbers(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.verified_numbers = Some(vec!["+14155550100".into()]);
    })
    .await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;

    // Another number is refused before anything is stored or sent.
    let (_, stranger) = contact_thread(&a, "Stranger", "+14155550199", "sms").await;
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": stranger, "body": "hi" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "not_verified");
    assert!(thread_view(&a, &stranger).await.1.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.received_requests().await.is_empty(), "an unverified number was messaged");

    // The verified number gets its message.
    let (_, friend) = contact_thread(&a, "Friend", "+14155550100", "sms").await;
    let msg = send(&a, &friend, "hi", &[]).await;
    wait_for_status(&a, &friend, msg["id"].as_str().unwrap(), "sent").await;
    let requests = fake.received_requests().await;
    assert_eq!(requests.len(), 1);
    assert!(form_of(&requests[0]).contains(&("To".to_owned(), "+14155550100".to_owned())));
    drop(fake);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Malformed requests
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn malformed_webhooks_are_refused_and_the_server_stays_healthy(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let hook = "/webhooks/twilio/messages";
    let url = format!("{}{hook}", server.base);
    let form = "application/x-www-form-urlencoded";

    // Invalid percent-encoding (`%ZZ`, a `%` at the end, a lone `%` before text). The
    // signature is computed over what a lenient decoder would read, so only the encoding itself
    // is wrong.
    let sid = format!("SM{}", hex32());
    for bad in ["Body=50%ZZoff", "Body=100%", "Body=half%2"] {
        let raw = format!("AccountSid={}&From=%2B14155550123&To=%2B15005550006&MessageSid={sid}&NumMedia=0&{bad}", account.sid);
        let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
        let sig = web::twilio_signature::sign(&account.token, &url, &lenient);
        let r = post_bytes(&server, hook, &sig, form, raw.into_bytes()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "{bad} wrote something");
        assert_healthy(&a).await;
    }

    // Percent-encoded bytes that are not UTF-8.
    let raw = format!("AccountSid={}&From=%2B14155550123&To=%2B15005550006&MessageSid={sid}&Body=%FF%FE%FD", account.sid);
    let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
    let sig = web::twilio_signature::sign(&account.token, &url, &lenient);
    let r = post_bytes(&server, hook, &sig, form, raw.into_bytes()).await;
    assert_eq!(r.status, 400, "not UTF-8: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));

    // The right parameters as JSON: Twilio posts forms only.
    let params = inbound_params(&account, "+14155550123", &sid, "hello");
    let sig = web::twilio_signature::sign(&account.token, &url, &params);
    let as_json: serde_json::Map<String, Value> = params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let r = post_bytes(&server, hook, &sig, "application/json", serde_json::to_vec(&as_json).unwrap()).await;
    assert_eq!(r.status, 415, "JSON: {}", r.body);
    // And a form body without any content type.
    let body = serde_urlencoded::to_string(&params).unwrap();
    let r = reply(reqwest::Client::new().post(&url).header("X-Twilio-Signature", &sig).body(body)).await;
    assert_eq!(r.status, 415, "no content type: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_healthy(&a).await;

    // A body over 64 KiB is cut off with 413 before it is parsed.
    let huge = with(params.clone(), "Body", &"x".repeat(100 * 1024));
    let r = post_signed(&server, hook, &account.token, &huge).await;
    assert_eq!(r.status, 413, "huge body: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_healthy(&a).await;

    // Signed requests missing what every inbound message has.
    for missing in ["From", "MessageSid", "AccountSid", "To"] {
        let mut p = without(params.clone(), missing);
        if missing == "MessageSid" {
            p = without(p, "SmsMessageSid");
        }
        let r = post_signed(&server, hook, &account.token, &p).await;
        assert_eq!(r.status, 400, "no {missing}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "no {missing} wrote something");
    }
    // An empty body, and From that is not a phone number.
    let r = post_bytes(&server, hook, "", form, vec![]).await;
    assert_eq!(r.status, 400, "empty body: {}", r.body);
    let r = post_signed(&server, hook, &account.token, &with(params.clone(), "From", "not-a-phone")).await;
    assert_eq!(r.status, 400, "bad From: {}", r.body);

    // Status callbacks: missing MessageStatus, malformed encoding (both refused as malformed
    // before the sid is even looked up).
    let status_url = format!("{}/webhooks/twilio/status", server.base);
    let p = pairs(&[("AccountSid", &account.sid), ("MessageSid", &sid)]);
    let r = post_signed(&server, "/webhooks/twilio/status", &account.token, &p).await;
    assert_eq!(r.status, 400, "no MessageStatus: {}", r.body);
    let raw = format!("AccountSid={}&MessageSid={sid}&MessageStatus=deliv%ZZered", account.sid);
    let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
    let sig = web::twilio_signature::sign(&account.token, &status_url, &lenient);
    let r = post_bytes(&server, "/webhooks/twilio/status", &sig, form, raw.into_bytes()).await;
    assert_eq!(r.status, 400, "malformed status: {}", r.body);

    // Nothing was written, and the server still works: health, then a genuine webhook.
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_nothing_visible(&a).await;
    assert_healthy(&a).await;
    assert_twiml(&post_signed(&server, hook, &account.token, &params).await);
    assert_eq!(rows(&db).await, (1, 1, 1));
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn the_simulator_loop_runs_until_a_real_number_is_added(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Twilio must never be called while the team runs on the simulator.
    let twilio = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).named("real Twilio").mount(&twilio).await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;

    // A new team starts in simulator mode.
    let a = server.admin("Alice").await;
    let (status, me) = a.client.get("/api/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["team"]["simulator_mode"], true, "{me}");

    // A send is answered by the simulator: sent, then delivered, on the thread socket.
    let thread = a.thread_with("Carol", "+14155550123").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;
    let msg = send(&a, &thread, "hello from the simulator", &[]).await;
    let sent = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(sent["data"]["id"], msg["id"]);
    assert_eq!(sent["data"]["status"], "sent");
    let sid = sent["data"]["provider_sid"].as_str().unwrap().to_owned();
    let delivered = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(delivered["data"]["status"], "delivered");
    assert_eq!(delivered["data"]["provider_sid"], sid);

    // A person writes on WhatsApp through the simulator: it comes in as a new thread.
    let (status, answer) = a
        .client
        .post("/api/simulator/inbound", json!({ "from": "+14155550142", "channel": "whatsapp", "body": "hola 👋", "profile_name": "Rosa" }))
        .await;
    assert_eq!(status, 202, "{answer}");
    let message_sid = answer["message_sid"].as_str().unwrap().to_owned();
    assert!(message_sid.starts_with("SM"), "{answer}");
    let created = ws.expect_data("thread.created", WAIT).await;
    assert_eq!(created["channel"]["kind"], "whatsapp");
    assert_eq!(created["contact"]["phone"], "+14155550142");
    let (_, list) = a.client.get("/api/threads?channel=whatsapp").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], created["id"]);
    let (_, messages) = thread_view(&a, created["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "hola 👋");
    assert_eq!(messages[0]["provider_sid"], message_sid);
    assert_eq!(messages[0]["channel"], "whatsapp");

    // Adding a real number ends simulator mode, and the simulator's inbound with it.
    add_channel(&a, "sms", &Account::new(), None).await;
    let (_, me) = a.client.get("/api/me").await;
    assert_eq!(me["team"]["simulator_mode"], false, "{me}");
    let (status, err) =
        a.client.post("/api/simulator/inbound", json!({ "from": "+14155550143", "channel": "sms", "body": "anyone?" })).await;
    assert_eq!(status, 409, "{err}");
    twilio.verify().await;
    server.stop().await;
}

#[sqlx::test]
async fn sends_are_paced_per_sending_number_without_holding_up_others(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Two messages per second per sender; an SMS burst on one number, and a WhatsApp message.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.send_rate_per_second = 2;
    })
    .await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    add_channel(&a, "whatsapp", &account, None).await;
    let (contact, sms_thread) = contact_thread(&a, "Carol", "+14155550125", "sms").await;
    let (status, wa) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact, "channel": "whatsapp" })).await;
    assert_eq!(status, 200);
    let wa_thread = wa["id"].as_str().unwrap().to_owned();
    Mock::given(method("POST")).and(path(account.messages_path())).respond_with(created(&format!("SM{}", hex32()))).mount(&twilio).await;

    // Five SMS at once, then one WhatsApp message.
    let started = std::time::Instant::now();
    for i in 0..5 {
        send(&a, &sms_thread, &format!("sms {i}"), &[]).await;
    }
    send(&a, &wa_thread, "whatsapp now", &[]).await;

    // Wait until all six reached Twilio, noting when each arrived.
    let mut arrivals: Vec<(String, Duration)> = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while arrivals.len() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "only {} sends arrived", arrivals.len());
        let requests = twilio.received_requests().await.unwrap();
        for r in requests.iter().skip(arrivals.len()) {
            let body = form_of(r).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default();
            arrivals.push((body, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The SMS burst is paced: two at once, then one every half second (about 1.5 s in all).
    let sms: Vec<Duration> = arrivals.iter().filter(|(b, _)| b.starts_with("sms")).map(|(_, t)| *t).collect();
    assert_eq!(sms.len(), 5);
    assert!(sms[4] - sms[0] >= Duration::from_millis(1200), "SMS paced: {arrivals:?}");
    // The WhatsApp message did not wait behind them.
    let wa_at = arrivals.iter().find(|(b, _)| b == "whatsapp now").unwrap().1;
    assert!(wa_at < sms[4], "WhatsApp went before the SMS burst finished: {arrivals:?}");
    server.stop().await;
}
