//! Helpers for the Twilio end-to-end tests: a fake account, channels, signed webhook forms and
//! the fake REST API's answers.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// The receiving number of every real channel here (Twilio's own magic test number).
pub(crate) const NUMBER: &str = "+15005550006";

/// What the webhooks answer: "received, nothing to say".
pub(crate) const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response />"#;

/// A form as Twilio posts it: names and values in order, names may repeat.
pub(crate) type Form = Vec<(String, String)>;

/// 32 hex digits: the tail of a Twilio sid, or an auth token.
pub(crate) fn hex32() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A Twilio account as the test knows it: what it gives the server and signs webhooks with.
pub(crate) struct Account {
    pub(crate) sid: String,
    pub(crate) token: String,
}

impl Account {
    pub(crate) fn new() -> Account {
        Account { sid: format!("AC{}", hex32()), token: hex32() }
    }

    /// The REST path a send posts to.
    pub(crate) fn messages_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}/Messages.json", self.sid)
    }

    /// HTTP Basic auth with `AccountSid:AuthToken`.
    pub(crate) fn basic_auth(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.sid, self.token)))
    }
}

/// Adds a real (non-simulated) channel as the admin; the team leaves simulator mode.
pub(crate) async fn add_channel(a: &Agent, kind: &str, account: &Account, service: Option<&str>) -> Value {
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
pub(crate) async fn contact_thread(a: &Agent, name: &str, phone: &str, kind: &str) -> (String, String) {
    let (status, contact) = a.client.post("/api/contacts", json!({ "name": name, "phone": phone })).await;
    assert_eq!(status, 201, "contact: {contact}");
    let (status, thread) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": kind })).await;
    assert_eq!(status, 200, "thread: {thread}");
    (contact["id"].as_str().unwrap().to_owned(), thread["id"].as_str().unwrap().to_owned())
}

/// `GET /api/threads/{id}`: (thread summary, messages oldest first).
pub(crate) async fn thread_view(a: &Agent, thread: &str) -> (Value, Vec<Value>) {
    let (status, body) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(status, 200, "thread: {body}");
    (body["thread"].clone(), body["messages"].as_array().unwrap().clone())
}

/// Polls the thread until message `id` has `status`; returns the message.
pub(crate) async fn wait_for_status(a: &Agent, thread: &str, id: &str, status: &str) -> Value {
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
pub(crate) async fn send(a: &Agent, thread: &str, body: &str, media_urls: &[&str]) -> Value {
    let (status, msg) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": body, "media_urls": media_urls })).await;
    assert_eq!(status, 201, "send: {msg}");
    msg
}

/// Twilio's answer to a created message.
pub(crate) fn created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "sid": sid, "status": "queued", "num_segments": "1" }))
}

/// Twilio's answer to a refused message.
pub(crate) fn refused(status: u16, code: i32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

/// A fake Twilio answering every send on `account` with a fresh sid.
pub(crate) fn accepts_sends(account: &Account) -> Mock {
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .and(header("authorization", account.basic_auth().as_str()))
        .respond_with(|_: &wiremock::Request| created(&format!("SM{}", hex32())))
}

/// The form a request to the fake Twilio carried, sorted by name (repeated names keep their
/// order: Twilio reads the form, not its order, but MediaUrl order is the media order).
pub(crate) fn form_of(req: &wiremock::Request) -> Form {
    let mut form: Form = serde_urlencoded::from_bytes(&req.body).expect("a form-encoded body");
    form.sort_by(|a, b| a.0.cmp(&b.0));
    form
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> Form {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub(crate) fn sorted(mut form: Form) -> Form {
    form.sort_by(|a, b| a.0.cmp(&b.0));
    form
}

/// What a webhook answered.
pub(crate) struct Reply {
    pub(crate) status: u16,
    content_type: String,
    pub(crate) body: String,
}

/// POSTs a form to one of our webhooks with `X-Twilio-Signature: signature` (none when `None`).
pub(crate) async fn post_form(server: &TestServer, path: &str, signature: Option<&str>, params: &[(String, String)]) -> Reply {
    let mut req = reqwest::Client::new().post(format!("{}{path}", server.base)).form(params);
    if let Some(sig) = signature {
        req = req.header("X-Twilio-Signature", sig);
    }
    reply(req).await
}

/// POSTs raw bytes with a content type (for bodies no well-behaved client would build).
pub(crate) async fn post_bytes(server: &TestServer, path: &str, signature: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let req = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .header("X-Twilio-Signature", signature)
        .header("content-type", content_type)
        .body(body);
    reply(req).await
}

pub(crate) async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    Reply { status, content_type, body: res.text().await.unwrap_or_default() }
}

/// POSTs a form signed as Twilio signs it: with `token`, over our public URL of `path`.
pub(crate) async fn post_signed(server: &TestServer, path: &str, token: &str, params: &[(String, String)]) -> Reply {
    let sig = web::twilio_signature::sign(token, &format!("{}{path}", server.base), params);
    post_form(server, path, Some(&sig), params).await
}

/// Asserts the webhook took the request: 200 with the empty TwiML document.
pub(crate) fn assert_twiml(r: &Reply) {
    assert_eq!(r.status, 200, "webhook refused: {}", r.body);
    assert_eq!(r.body, EMPTY_TWIML);
    assert!(r.content_type.starts_with("text/xml"), "content-type {:?}", r.content_type);
}

/// The parameters of an inbound SMS as Twilio posts them.
pub(crate) fn inbound_params(account: &Account, from: &str, sid: &str, body: &str) -> Form {
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
pub(crate) fn with(mut params: Form, name: &str, value: &str) -> Form {
    params.retain(|(k, _)| k != name);
    params.push((name.to_owned(), value.to_owned()));
    params
}

pub(crate) fn without(mut params: Form, name: &str) -> Form {
    params.retain(|(k, _)| k != name);
    params
}

/// The parameters of a status callback as Twilio posts them.
pub(crate) fn status_params(account: &Account, sid: &str, status: &str, to: &str, error: Option<&str>) -> Form {
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
pub(crate) async fn rows(db: &PgPool) -> (i64, i64, i64) {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(db).await.unwrap()
    };
    (count("messages").await, count("webhook_receipts").await, count("contacts").await)
}

/// Asserts the server still answers its health check.
pub(crate) async fn assert_healthy(a: &Agent) {
    let (status, body) = a.client.get("/healthz").await;
    assert_eq!(status, 200, "healthz: {body}");
}

/// Asserts the team sees no thread and no contact.
pub(crate) async fn assert_nothing_visible(a: &Agent) {
    let (_, threads) = a.client.get("/api/threads").await;
    assert_eq!(threads["items"], json!([]), "threads: {threads}");
    let (_, contacts) = a.client.get("/api/contacts").await;
    assert_eq!(contacts["items"], json!([]), "contacts: {contacts}");
}

/// Makes the fake Twilio accept exactly one send for `account`, answering `sid` after `delay`
/// (a slow carrier: the send's answer arrives late).
pub(crate) async fn answers_once_after(twilio: &wiremock::MockServer, account: &Account, sid: &str, delay: std::time::Duration) {
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(created(sid).set_delay(delay))
        .expect(1)
        .mount(twilio)
        .await;
}

/// A team whose admin connected a real Twilio number (sending to `twilio`), and an SMS thread
/// with a contact at `phone`: (admin, account, thread id).
pub(crate) async fn team_on_twilio(server: &TestServer, phone: &str) -> (Agent, Account, String) {
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", phone, "sms").await;
    (a, account, thread)
}

/// The contact at `phone` writes to the team's `kind` number (a signed inbound webhook): on
/// WhatsApp, the conversation's 24-hour window opens, so free-form messages may go.
pub(crate) async fn contact_writes(server: &TestServer, account: &Account, phone: &str, kind: &str) {
    let prefix = if kind == "whatsapp" { "whatsapp:" } else { "" };
    let params = inbound_params(account, &format!("{prefix}{phone}"), &format!("SM{}", hex32()), "Hi");
    let params = with(params, "To", &format!("{prefix}{NUMBER}"));
    assert_twiml(&post_signed(server, "/webhooks/twilio/messages", &account.token, &params).await);
}
