//! Two nodes linked by a Redis that the test stops for 4 s and restarts. Requests keep working
//! during the outage (events still reach each node's own sockets); when the link is back, both
//! nodes tell their sockets to resync (4200), every event posted during the outage reaches every
//! client exactly once (live, or by catching up from its last gap-free seq, as the app does),
//! and both nodes agree on who is on the thread (a member who left during the outage is gone,
//! one who joined is there).

use crate::support::private_redis::PrivateRedis;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The same agent, talking to another node.
fn on(node: &TestServer, agent: &Agent) -> Agent {
    Agent { client: Client { http: agent.client.http.clone(), base: node.base.clone() }, ..agent.clone() }
}

/// The thread events in `frames`, by seq.
fn events(frames: &[Value]) -> BTreeMap<i64, Value> {
    frames
        .iter()
        .filter(|f| f["event"] == "note.created")
        .map(|f| serde_json::from_str::<Value>(f["data"].as_str().unwrap()).unwrap())
        .map(|e| (e["seq"].as_i64().unwrap(), e))
        .collect()
}

/// What a client does after a resync: catch up from the highest seq below which it has no gap.
async fn catch_up(agent: &Agent, thread: &str, mut seen: BTreeMap<i64, Value>) -> BTreeMap<i64, Value> {
    let mut known = 0;
    while seen.contains_key(&(known + 1)) {
        known += 1;
    }
    let (status, body) = agent.client.get(&format!("/api/threads/{thread}/events?after={known}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reset_required"], false);
    for e in body["events"].as_array().unwrap() {
        // A duplicate must be the same event: same seq, same note.
        if let Some(old) = seen.insert(e["seq"].as_i64().unwrap(), e.clone()) {
            assert_eq!(old["data"]["id"], e["data"]["id"], "one seq, two events");
        }
    }
    seen
}

/// The user ids on `channel` as a fresh socket on `node` sees them.
async fn members(node: &TestServer, agent: &Agent, channel: &str) -> BTreeSet<String> {
    let mut ws = agent.socket(node).await;
    let joined = ws.subscribe(channel).await;
    let ids = joined["presence"]["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    ws.close().await;
    ids
}

#[sqlx::test]
async fn after_a_redis_outage_nodes_agree_and_no_event_is_lost(_p: PgPoolOptions, opts: PgConnectOptions) {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let node_a = TestServer::start_with(&opts, |c| c.redis_url = url.clone()).await;
    let node_b = TestServer::start_with(&opts, |c| c.redis_url = url.clone()).await;
    let alice = node_a.admin("Alice").await;
    let bob = on(&node_b, &node_a.agent(&alice, "Bob").await);
    let cy = on(&node_b, &node_a.agent(&alice, "Cy").await);
    let dee = node_a.agent(&alice, "Dee").await;
    let thread = alice.thread_with("Carol", "+14155550180").await;
    let channel = format!("presence-thread-{thread}");

    // Alice watches the thread on node A; Bob and Cy on node B.
    let mut a_ws = alice.socket(&node_a).await;
    a_ws.subscribe(&channel).await;
    let mut b_ws = bob.socket(&node_b).await;
    b_ws.subscribe(&channel).await;
    let mut c_ws = cy.socket(&node_b).await;
    c_ws.subscribe(&channel).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(members(&node_a, &dee, &channel).await.len(), 4, "everyone (and the probe) is seen across nodes before the outage");

    // Redis goes away for 4 s. Meanwhile Cy leaves, Dee joins on node A, and notes are posted on
    // both nodes: every request succeeds.
    redis.stop();
    c_ws.close().await;
    let mut d_ws = dee.socket(&node_a).await;
    d_ws.subscribe(&channel).await;
    let mut posted = BTreeSet::new();
    for i in 0..10 {
        let author = if i % 2 == 0 { &alice } else { &bob };
        let (status, note) =
            author.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": format!("during the outage {i}") })).await;
        assert_eq!(status, 201, "a request during the outage: {note}");
        posted.insert(note["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    redis.start_again().await;

    // Both nodes tell their sockets to resync.
    let (a_frames, a_code) = a_ws.frames_until_closed(Duration::from_secs(10)).await;
    let (b_frames, b_code) = b_ws.frames_until_closed(Duration::from_secs(10)).await;
    assert_eq!((a_code, b_code), (Some(4200), Some(4200)), "each node's sockets are told to reconnect");
    d_ws.frames_until_closed(Duration::from_secs(10)).await;

    // Live plus catch-up: every note, once, for each client.
    for (agent, frames) in [(&alice, &a_frames), (&bob, &b_frames)] {
        let all = catch_up(agent, &thread, events(frames)).await;
        let ids: Vec<String> = all.values().map(|e| e["data"]["id"].as_str().unwrap().to_owned()).collect();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), unique.len(), "no duplicates for {}", agent.name);
        assert_eq!(unique, posted, "{} has every note posted during the outage", agent.name);
    }

    // The clients reconnect (as pusher-js does on 4200); then both nodes agree on who is here:
    // Alice, Bob and Dee, not Cy.
    let mut a_ws = alice.socket(&node_a).await;
    a_ws.subscribe(&channel).await;
    let mut b_ws = bob.socket(&node_b).await;
    b_ws.subscribe(&channel).await;
    let mut d_ws = dee.socket(&node_a).await;
    d_ws.subscribe(&channel).await;
    let probe = node_a.agent(&alice, "Probe").await;
    let expected: BTreeSet<String> = [&alice.id, &bob.id, &dee.id, &probe.id].into_iter().cloned().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let on_a = members(&node_a, &probe, &channel).await;
        let on_b = members(&node_b, &on(&node_b, &probe), &channel).await;
        if on_a == expected && on_b == expected {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "member lists differ: node A {on_a:?}, node B {on_b:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    node_a.stop().await;
    node_b.stop().await;
}
