//! Stopping a node (SIGTERM) loses nothing: a send that is with the carrier when the node is
//! told to stop finishes, and its sid is recorded before the process exits.

use crate::support::twilio::*;
use crate::support::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use switchboard::Config;
use tokio_util::sync::CancellationToken;
use wiremock::MockServer;

#[sqlx::test]
async fn a_send_with_a_slow_carrier_at_shutdown_is_recorded_as_sent(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let (a, account, thread) = team_on_twilio(&server, "+14155550150").await;
    let sid = format!("SM{}", hex32());
    answers_once_after(&twilio, &account, &sid, Duration::from_millis(1500)).await;
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

/// A sign-in whose body is still arriving: the request line, headers and half the body now.
async fn half_a_sign_in(addr: std::net::SocketAddr) -> (tokio::net::TcpStream, &'static [u8]) {
    use tokio::io::AsyncWriteExt;
    let body: &'static [u8] = br#"{"email":"nobody@example.test","password":"not the password"}"#;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/auth/sign-in HTTP/1.1\r\nHost: switchboard\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    (stream, &body[10..])
}

#[sqlx::test]
async fn a_request_in_flight_at_shutdown_is_answered_and_nothing_new_is_accepted(_p: PgPoolOptions, opts: PgConnectOptions) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(&opts).await;
    let addr = server.addr;
    let (mut stream, rest) = half_a_sign_in(addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The listener is closed: a new connection is refused (or closed unanswered).
    if let Ok(mut late) = tokio::net::TcpStream::connect(addr).await {
        let _ = late.write_all(b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\n\r\n").await;
        let mut got = vec![];
        let _ = tokio::time::timeout(Duration::from_secs(2), late.read_to_end(&mut got)).await;
        assert!(got.is_empty(), "a connection made after shutdown was served: {:?}", String::from_utf8_lossy(&got));
    }
    // The request that was in flight is answered, and its connection then closed.
    stream.write_all(rest).await.unwrap();
    let mut answer = vec![];
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await.expect("answered and closed").unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 401"), "{:?}", String::from_utf8_lossy(&answer));
    stopping.await.unwrap();
}

#[sqlx::test]
async fn a_request_that_never_finishes_does_not_hold_up_shutdown(_p: PgPoolOptions, opts: PgConnectOptions) {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start_with(&opts, |c| c.shutdown_grace_secs = 1).await;
    let (mut stream, _rest) = half_a_sign_in(server.addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The rest of the body never comes: the connection is closed once the grace has passed.
    let started = tokio::time::Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown took {:?}", started.elapsed());
    let mut got = vec![];
    let closed = tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut got)).await;
    assert!(closed.is_ok(), "the stuck connection was left open");
}

/// How many connections other than `db`'s own are open to its database.
async fn others_connected(db: &sqlx::PgPool) -> i64 {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[sqlx::test]
async fn a_server_dropped_with_its_runtime_leaves_no_connection_open(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A node whose runtime goes away without a shutdown (a test's end, an embedding program's
    // exit) must not keep its pool alive: nothing may hold the store in a reference cycle.
    let url = db_url(&opts);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let run = tokio::spawn(switchboard::run(Config::for_tests(&url), listener, CancellationToken::new()));
            let http = reqwest::Client::new();
            for _ in 0..200 {
                if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
                    break;
                }
                assert!(!run.is_finished(), "the server stopped while starting");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        drop(rt);
    })
    .join()
    .unwrap();

    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let mut open = others_connected(&db).await;
    for _ in 0..50 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        open = others_connected(&db).await;
    }
    assert_eq!(open, 0, "the dropped server's connections are still open");
}
