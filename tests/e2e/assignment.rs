//! Automatic assignment (issue 13, item 6): with two nodes, new conversations go round robin to
//! the agents online now on either node, 10/10/10 for 30, never to an offline member; the cap of
//! open conversations per agent holds; the setting is admins' and checked.

use crate::support::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Polls `GET /api/threads` through `agent` until `n` threads exist and none waits for its
/// assignment (or 15 s pass); answers the threads.
async fn threads(agent: &Agent, n: usize, assigned: usize) -> Vec<Value> {
    let mut last = vec![];
    for _ in 0..150 {
        let (_, page) = agent.client.get("/api/threads?limit=100").await;
        last = page["items"].as_array().cloned().unwrap_or_default();
        if last.len() >= n && last.iter().filter(|t| !t["assignee_id"].is_null()).count() >= assigned {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// Whether `agent`'s view on `node` (its members list) shows exactly `online` as online.
async fn sees_online(agent: &Agent, node: &TestServer, online: &[&str]) -> bool {
    let client = Client { http: agent.client.http.clone(), base: node.base.clone() };
    let (_, members) = client.get("/api/team/members").await;
    let mut now: Vec<String> = members["members"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["online"] == true).filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    now.sort();
    let mut want: Vec<String> = online.iter().map(|s| s.to_string()).collect();
    want.sort();
    now == want
}

#[sqlx::test]
async fn new_conversations_take_turns_among_online_agents_on_every_node(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let tweak = |c: &mut switchboard::Config| {
        c.redis_url = "redis://127.0.0.1:6379/".into();
        c.assignment_backlog_ms = 300;
    };
    let node_a = TestServer::start_with(&opts, tweak).await;
    let node_b = TestServer::start_with(&opts, tweak).await;
    let ana = node_a.admin("Ana").await;
    let ben = node_a.agent(&ana, "Ben").await;
    let cy = node_a.agent(&ana, "Cy").await;
    let di = node_a.agent(&ana, "Di").await;
    let eve = node_a.agent(&ana, "Eve").await; // never online

    // The setting: admins only, checked.
    let path = "/api/team/auto-assignment";
    assert_eq!(ana.client.get(path).await.1, json!({ "enabled": false, "max_open_per_agent": null }));
    assert_eq!(ben.client.put_json(path, json!({ "enabled": true })).await.0, 403);
    let (status, body) = ana.client.put_json(path, json!({ "enabled": true, "max_open_per_agent": 0 })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("max_open_per_agent")), "{body}");
    assert_eq!(ana.client.put_json(path, json!({ "enabled": true, "sideways": 1 })).await.0, 422);

    // Ben is online on node A, Cy and Di on node B; both nodes see all three.
    let team = format!("presence-team-{}", ana.team_id);
    let mut sockets = vec![];
    for (agent, node) in [(&ben, &node_a), (&cy, &node_b), (&di, &node_b)] {
        let mut ws = agent.socket(node).await;
        ws.subscribe(&team).await;
        sockets.push(ws);
    }
    let online = [ben.id.as_str(), cy.id.as_str(), di.id.as_str()];
    for node in [&node_a, &node_b] {
        let mut seen = false;
        for _ in 0..100 {
            if sees_online(&ana, node, &online).await {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(seen, "{} does not see the three online", node.base);
    }

    // Switched on by Ana (offline herself): 30 customers write in, half through each node.
    let (status, body) = ana.client.put_json(path, json!({ "enabled": true, "max_open_per_agent": 10 })).await;
    assert_eq!((status, &body), (200, &json!({ "enabled": true, "max_open_per_agent": 10 })));
    for i in 0..30 {
        let node = if i % 2 == 0 { &node_a } else { &node_b };
        let client = Client { http: ana.client.http.clone(), base: node.base.clone() };
        let (status, body) = client
            .post("/api/simulator/inbound", json!({ "from": format!("+1415555{:04}", 3000 + i), "channel": "sms", "body": "hello" }))
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let all = threads(&ana, 30, 30).await;
    assert_eq!(all.len(), 30);
    let mut per: HashMap<String, usize> = HashMap::new();
    for t in &all {
        *per.entry(t["assignee_id"].as_str().unwrap_or("nobody").to_owned()).or_default() += 1;
    }
    let want: HashMap<String, usize> = online.iter().map(|id| (id.to_string(), 10)).collect();
    assert_eq!(per, want, "Ben, Cy and Di get 10 each; Ana and Eve (offline) none");
    assert!(!per.contains_key(&eve.id));

    // The assignment is in the thread's log, by nobody (the system did it).
    let id = all[0]["id"].as_str().unwrap();
    let (_, log) = ana.client.get(&format!("/api/threads/{id}/events?after=0")).await;
    let assigned = log["events"].as_array().unwrap().iter().filter(|e| e["type"] == "thread.updated" && e["actor_id"].is_null()).count();
    assert_eq!(assigned, 1, "{log}");

    // Everyone is at the cap: the next customer waits unassigned (the backlog's looks find
    // nobody free). Ben resolves one, and the customer who waited goes to him; the next one
    // then waits in turn.
    let (status, _) = ana.client.post("/api/simulator/inbound", json!({ "from": "+14155553100", "channel": "sms", "body": "hi" })).await;
    assert_eq!(status, 202);
    let now = threads(&ana, 31, 30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, page) = ana.client.get("/api/threads?limit=100").await;
    let waiting: Vec<&Value> = page["items"].as_array().unwrap().iter().filter(|t| t["assignee_id"].is_null()).collect();
    assert_eq!((now.len(), waiting.len()), (31, 1), "{page}");
    let bens = all.iter().find(|t| t["assignee_id"] == ben.id.as_str()).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(ben.client.patch(&format!("/api/threads/{bens}"), json!({ "status": "resolved" })).await.0, 200);
    let now = threads(&ana, 31, 31).await;
    let waited = now.iter().find(|t| t["contact"]["phone"] == "+14155553100").expect("the waiting thread");
    assert_eq!(waited["assignee_id"], ben.id.as_str(), "the customer who waited goes to the agent who freed a place");
    let (_, log) = ana.client.get(&format!("/api/threads/{}/events?after=0", waited["id"].as_str().unwrap())).await;
    let by_system = log["events"].as_array().unwrap().iter().filter(|e| e["type"] == "thread.updated" && e["actor_id"].is_null()).count();
    assert_eq!(by_system, 1, "assigned once, by nobody: {log}");
    let (status, _) = ana.client.post("/api/simulator/inbound", json!({ "from": "+14155553101", "channel": "sms", "body": "hi" })).await;
    assert_eq!(status, 202);
    let now = threads(&ana, 32, 31).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, page) = ana.client.get("/api/threads?limit=100").await;
    let newest = page["items"].as_array().unwrap().iter().find(|t| t["contact"]["phone"] == "+14155553101").expect("the new thread");
    assert_eq!((now.len(), newest["assignee_id"].clone()), (32, Value::Null), "everyone is at the cap again: {newest}");

    // Off again: nothing more is assigned.
    assert_eq!(ana.client.put_json(path, json!({ "enabled": false })).await.0, 200);
    for ws in sockets {
        ws.close().await;
    }
    node_a.stop().await;
    node_b.stop().await;
}
