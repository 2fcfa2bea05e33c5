//! Stopping a node (SIGTERM) loses nothing: a send that is with the carrier when the node is
//! told to stop finishes, and its sid is recorded before the process exits.

use crate::support::twilio::*;
use crate::support::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[sqlx::test]
async fn a_send_with_a_slow_carrier_at_shutdown_is_recorded_as_sent(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550150", "sms").await;
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(created(&sid).set_delay(Duration::from_millis(1500)))
        .expect(1)
        .mount(&twilio)
        .await;
    let msg = send(&a, &thread, "in flight at shutdown", &[]).await;
    let id: uuid::Uuid = msg["id"].as_str().unwrap().parse().unwrap();

    // The carrier has the request; the node is told to stop (what SIGTERM does).
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop().await;

    // The answer came back during the shutdown and was recorded: sent, with its sid.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let (status, recorded): (String, Option<String>) =
        sqlx::query_as("SELECT status, provider_sid FROM messages WHERE id = $1").bind(id).fetch_one(&db).await.unwrap();
    assert_eq!((status.as_str(), recorded.as_deref()), ("sent", Some(sid.as_str())));

    // A node started afterwards, with an eager stale sweep, leaves it sent: it is not an
    // "outcome unknown" send.
    let again = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.stale_sending_secs = 1;
        c.scheduler_poll_ms = 100;
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status,): (String,) = sqlx::query_as("SELECT status FROM messages WHERE id = $1").bind(id).fetch_one(&db).await.unwrap();
    assert_eq!(status, "sent");
    twilio.verify().await;
    again.stop().await;
}
