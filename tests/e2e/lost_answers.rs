//! A node killed (SIGKILL) while Twilio has its send request: the answer with the sid is lost,
//! and the stale sweep of another node fails the message as "outcome unknown". Twilio's status
//! callbacks still come, to the URL the request gave it, which names our message: the first one
//! repairs the message (sid recorded, status moved on, an event for the views). The carrier got
//! exactly one request.

use crate::support::twilio::*;
use crate::support::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::MockServer;

#[sqlx::test]
async fn a_callback_repairs_a_send_whose_answer_died_with_its_node(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let url = db_url(&opts);
    let mut doomed = ServerProcess::start(&url, &[("TWILIO_API_BASE", &twilio.uri())]).await;
    let a = sign_up_admin(&doomed.base, "Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550185", "sms").await;
    let sid = format!("SM{}", hex32());
    answers_once_after(&twilio, &account, &sid, Duration::from_secs(5)).await;
    let msg = send(&a, &thread, "into the void", &[]).await;
    let id = msg["id"].as_str().unwrap().to_owned();

    // Twilio has the request; the node dies before the answer comes back.
    for _ in 0..100 {
        if !twilio.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let request = twilio.received_requests().await.unwrap().remove(0);
    doomed.kill9();
    let callback = form_of(&request).into_iter().find(|(k, _)| k == "StatusCallback").expect("a StatusCallback").1;
    assert!(callback.ends_with(&format!("/webhooks/twilio/status?message={id}")), "{callback}");

    // Another node's sweep fails it: its outcome is unknown, and it is never sent again.
    let survivor = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.stale_sending_secs = 1;
        c.scheduler_poll_ms = 100;
    })
    .await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let uuid: uuid::Uuid = id.parse().unwrap();
    let mut failed = false;
    for _ in 0..100 {
        let (status, reason): (String, Option<String>) =
            sqlx::query_as("SELECT status, error_reason FROM messages WHERE id = $1").bind(uuid).fetch_one(&db).await.unwrap();
        if status == "failed" {
            assert!(reason.unwrap_or_default().contains("outcome unknown"));
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "the sweep failed the message");

    // Twilio's callback arrives at the URL it was given (the survivor serves the same public
    // path): the message is repaired with its sid and moves on to delivered.
    let path_and_query = callback.split_once("/webhooks/").map(|(_, rest)| format!("/webhooks/{rest}")).unwrap();
    let r =
        post_signed(&survivor, &path_and_query, &account.token, &status_params(&account, &sid, "delivered", "+14155550185", None)).await;
    assert_twiml(&r);
    let (status, provider_sid, error): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT status, provider_sid, error_reason FROM messages WHERE id = $1").bind(uuid).fetch_one(&db).await.unwrap();
    assert_eq!((status.as_str(), provider_sid.as_deref(), error), ("delivered", Some(sid.as_str()), None));
    // What the views saw, from the thread's log.
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT type, payload->>'status' FROM thread_events WHERE thread_id = $1::uuid AND payload->>'id' = $2 ORDER BY seq",
    )
    .bind(&thread)
    .bind(&id)
    .fetch_all(&db)
    .await
    .unwrap();
    let statuses: Vec<&str> = kinds.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses, vec!["queued", "failed", "sent", "delivered"], "the views saw the repair: {kinds:?}");
    twilio.verify().await;
    survivor.stop().await;
}
