//! Bad input gets a clear 4xx and loses nothing: a NUL byte in any text field, an out-of-range
//! value, a crafted cursor. The thread's actor is not hurt by them: commands queued behind a bad
//! one on the same thread are served. A signed webhook carrying `%00` is still stored (the NUL
//! dropped), since refusing it would lose the customer's message.

use crate::support::twilio::*;
use crate::support::*;
use base64::Engine;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test]
async fn nul_bytes_and_out_of_range_values_answer_4xx_and_the_thread_keeps_serving(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550160").await;

    // Ten sends on one thread at once, one of them with a NUL byte: it alone is refused.
    let sends = (0..10).map(|i| {
        let client = a.client.clone();
        let body = if i == 4 { "bad\u{0}byte".to_owned() } else { format!("message {i}") };
        let thread = thread.clone();
        async move { client.post("/api/messages", json!({ "thread_id": thread, "body": body })).await }
    });
    let answers = futures_util::future::join_all(sends).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        if i == 4 {
            assert_eq!(*status, 422, "{body}");
            assert_eq!(body["error"]["field"], "body", "{body}");
        } else {
            assert_eq!(*status, 201, "send {i}: {body}");
        }
    }

    // NUL bytes in a note, a contact's name and an email: 422 naming the field.
    let (status, body) = a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "x\u{0}y" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("body")), "{body}");
    let (status, body) = a.client.post("/api/contacts", json!({ "name": "Eve\u{0}", "phone": "+14155550161" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("name")), "{body}");
    let (status, body) = a.client.post("/api/contacts", json!({ "name": "Eve", "phone": "+14155550161", "email": "e\u{0}@x.io" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("email")), "{body}");

    // Out-of-range values: a send time in year 9999, a limit past i64, a negative seq, a cursor
    // crafted for year -7537.
    let (status, body) =
        a.client.post("/api/messages", json!({ "thread_id": thread, "body": "x", "send_at": "9999-12-31T23:59:59Z" })).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = a.client.get("/api/threads?limit=99999999999999999999").await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = a.client.get(&format!("/api/threads/{thread}/events?after=-1")).await;
    assert_eq!(status, 422, "{body}");
    let ancient = time::Date::from_calendar_date(-7537, time::Month::January, 1).unwrap().midnight().assume_utc();
    let cursor =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", ancient.unix_timestamp_nanos(), uuid::Uuid::nil()));
    let (status, body) = a.client.get(&format!("/api/threads?cursor={cursor}")).await;
    assert!(status == 400 || status == 422, "crafted cursor: {status} {body}");
    let (status, body) = a.client.get(&format!("/api/contacts?cursor={cursor}")).await;
    assert!(status == 400 || status == 422, "crafted cursor: {status} {body}");

    // The thread is healthy: its nine messages are there and it takes more.
    let (status, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["messages"].as_array().unwrap().len(), 9);
    let (status, _) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "after" })).await;
    assert_eq!(status, 201);
    server.stop().await;
}

#[sqlx::test]
async fn a_signed_webhook_with_a_nul_byte_is_stored_without_it(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let sid = format!("SM{}", hex32());
    let params = with(inbound_params(&account, "+14155550162", &sid, "hel\u{0}lo"), "ProfileName", "Nu\u{0}ll");
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_twiml(&r);
    let (_, list) = a.client.get("/api/threads").await;
    let thread = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["messages"][0]["body"], "hello");
    // Retried by Twilio: still one message.
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_twiml(&r);
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 1);
    server.stop().await;
}
