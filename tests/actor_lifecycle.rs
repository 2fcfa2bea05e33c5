//! Thread actors are spawned on first use and stop when idle; the next command reloads them.
//! Its own test binary, so the process-wide Prometheus gauges belong to this one server.

#[path = "e2e/support/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

async fn live_threads(server: &TestServer) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("switchboard_live_threads"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(-1.0) as u64
}

#[sqlx::test]
async fn idle_thread_actors_stop_and_come_back_on_demand(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| {
        c.thread_idle_secs = 1;
        c.typing_ttl_ms = 600;
    })
    .await;
    let a = server.admin("Ana").await;
    let thread = a.thread_with("Carol", "+14155550130").await;
    assert_eq!(live_threads(&server).await, 0, "nothing spawned before first use");

    // First use spawns the thread's actor.
    assert_eq!(a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "one" })).await.0, 201);
    assert_eq!(live_threads(&server).await, 1);

    // Left alone, it stops.
    let mut stopped = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if live_threads(&server).await == 0 {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "the idle actor stopped");

    // The next command brings it back, with the thread's state from Postgres (the seq goes on).
    let (status, _) = a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "two" })).await;
    assert_eq!(status, 201);
    assert_eq!(live_threads(&server).await, 1);
    let (_, events) = a.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    let seqs: Vec<i64> = events["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2]);
    server.stop().await;
}
