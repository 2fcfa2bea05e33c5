//! Postgres gone: requests, webhooks and readiness answer 503 `unavailable` with `Retry-After`
//! within about a second (not after the pool's old 10 s timeout, and not 500), and the server is
//! itself again as soon as Postgres is back. The test runs its own Postgres, which it stops.

use crate::support::private_pg::PrivatePostgres;
use crate::support::twilio::*;
use crate::support::*;
use std::time::{Duration, Instant};

/// The bound a refused request must stay under (the pool waits 1 s for a connection).
const FAST: Duration = Duration::from_millis(2500);

#[tokio::test]
async fn with_postgres_gone_every_request_answers_503_fast_and_recovers() {
    let pg = PrivatePostgres::start();
    let server = TestServer::start_on(&pg.url("switchboard_outage"), |_| {}).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let thread = a.thread_with("Carol", "+14155550170").await;

    pg.stop();

    // An API read, an API write, a signed webhook and readiness: 503, fast, with Retry-After.
    let started = Instant::now();
    let res = a.client.http.get(format!("{}/api/threads", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 503, "{:?}", res.text().await);
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());

    let started = Instant::now();
    let res = a
        .client
        .http
        .post(format!("{}/api/messages", server.base))
        .json(&serde_json::json!({ "thread_id": thread, "body": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());

    let started = Instant::now();
    let params = inbound_params(&account, "+14155550171", &format!("SM{}", hex32()), "anyone there?");
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_eq!(r.status, 503, "a webhook Twilio should retry on its fallback URL: {}", r.body);
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());

    let started = Instant::now();
    let res = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < FAST, "readyz took {:?}", started.elapsed());

    // Postgres comes back: the same requests work again without a restart.
    pg.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = a.client.get("/api/threads").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_twiml(&r);
    server.stop().await;
}
