//! End to end: automation (issue 14, parts 6 and 7). A rule assigns and labels a matching
//! inbound message once, however many times and on however many nodes Twilio posts it; the
//! settings API is admin-only and checked; the dry run answers which recent messages match.

use crate::support::twilio::*;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const CUSTOMER: &str = "+14155550177";

async fn thread_of(a: &Agent, phone: &str) -> Option<String> {
    let (_, threads) = a.client.get("/api/threads").await;
    threads["items"].as_array()?.iter().find(|t| t["contact"]["phone"] == phone).and_then(|t| t["id"].as_str()).map(str::to_owned)
}

async fn fired(a: &Agent, thread: &str) -> Vec<Value> {
    let (_, body) = a.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    body["events"].as_array().unwrap().iter().filter(|e| e["type"] == "rule.fired").cloned().collect()
}

#[sqlx::test]
async fn a_rule_assigns_and_labels_a_matching_inbound_once_across_two_nodes(_p: PgPoolOptions, opts: PgConnectOptions) {
    let url = db_url(&opts);
    let one = TestServer::start_on(&url, |_| {}).await;
    let two = TestServer::start_on(&url, |_| {}).await;
    let a = one.admin("Alice").await;
    let ben = one.agent(&a, "Ben").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, label) = a.client.post("/api/labels", json!({ "name": "Refunds", "color": "#ff0000" })).await;
    let rule = json!({
        "name": "Refunds go to Ben",
        "conditions": { "keywords": ["refund"], "channel_kind": "sms" },
        "actions": { "assign": { "kind": "user", "user_id": ben.id }, "add_labels": [label["id"]], "priority": "high" }
    });
    // Admins only; checked.
    assert_eq!(ben.client.post("/api/automation/rules", rule.clone()).await.0, 403);
    let (status, err) = a
        .client
        .post("/api/automation/rules", json!({ "name": "x", "conditions": { "regex": "(" }, "actions": { "resolve": true } }))
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (422, Some("conditions.regex")), "{err}");
    assert_eq!(a.client.post("/api/automation/rules", json!({ "name": "x", "sideways": 1 })).await.0, 422);
    let (status, created) = a.client.post("/api/automation/rules", rule).await;
    assert_eq!(status, 201, "{created}");

    // One message that does not match, then one that does, posted to both nodes at once and
    // again (Twilio retries).
    let quiet = inbound_params(&account, CUSTOMER, &format!("SM{}", hex32()), "hello there");
    assert_twiml(&post_signed(&one, "/webhooks/twilio/messages", &account.token, &quiet).await);
    let refund = inbound_params(&account, CUSTOMER, &format!("SM{}", hex32()), "I want a refund please");
    let (r1, r2) = tokio::join!(
        post_signed(&one, "/webhooks/twilio/messages", &account.token, &refund),
        post_signed(&two, "/webhooks/twilio/messages", &account.token, &refund),
    );
    assert_twiml(&r1);
    assert_twiml(&r2);
    assert_twiml(&post_signed(&two, "/webhooks/twilio/messages", &account.token, &refund).await);

    let thread = thread_of(&a, CUSTOMER).await.expect("the customer's thread");
    let mut view = Value::Null;
    for _ in 0..100 {
        view = a.client.get(&format!("/api/threads/{thread}")).await.1;
        if view["thread"]["assignee_id"] == ben.id.as_str() || view["assignee_id"] == ben.id.as_str() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = if view["thread"].is_object() { &view["thread"] } else { &view };
    assert_eq!(row["assignee_id"], ben.id.as_str(), "{view}");
    assert_eq!(row["label_ids"], json!([label["id"]]), "{view}");
    assert_eq!(row["priority"], "high");
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["rule_firings"].as_array().map(Vec::len), Some(1), "{view}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = fired(&a, &thread).await;
    assert_eq!(events.len(), 1, "once, on one node: {events:?}");
    assert_eq!(events[0]["data"]["name"], "Refunds go to Ben");
    assert_eq!(events[0]["data"]["rule_id"], created["id"]);
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let firings: i64 = sqlx::query_scalar("SELECT count(*) FROM automation_rule_firings").fetch_one(&db).await.unwrap();
    assert_eq!(firings, 1);

    // The dry run: of the two inbound messages, the refund matches.
    let (status, dry) = a
        .client
        .post(
            "/api/automation/rules/dry-run",
            json!({ "name": "try", "conditions": { "keywords": ["refund"] }, "actions": { "resolve": true } }),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["scanned"], 2);
    assert_eq!(dry["items"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["items"][0]["body"], "I want a refund please");

    // Deleting is audit-logged.
    let id = created["id"].as_str().unwrap();
    assert_eq!(a.client.delete(&format!("/api/automation/rules/{id}")).await.0, 204);
    assert_eq!(a.client.delete(&format!("/api/automation/rules/{id}")).await.0, 404);
    let (_, audit) = a.client.get("/api/audit").await;
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "rule.deleted"), "{audit}");
    one.stop().await;
    two.stop().await;
}

#[sqlx::test]
async fn business_hours_are_admin_only_checked_and_tell_whether_the_team_is_open(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let ben = server.agent(&a, "Ben").await;
    let (status, hours) = ben.client.get("/api/automation/hours").await;
    assert_eq!(status, 200);
    assert_eq!((hours["enabled"].as_bool(), hours["open"].as_bool()), (Some(false), Some(true)), "{hours}");
    // Closed all week (no hours on any day): outside business hours now.
    let closed = json!({ "enabled": true, "time_zone": "Europe/Paris", "weekly": {}, "out_of_hours_reply": "We are closed." });
    assert_eq!(ben.client.put_json("/api/automation/hours", closed.clone()).await.0, 403);
    let (status, err) = a.client.put_json("/api/automation/hours", json!({ "enabled": true, "time_zone": "Mars/Olympus" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (422, Some("time_zone")), "{err}");
    let (status, err) =
        a.client.put_json("/api/automation/hours", json!({ "weekly": { "mon": [{ "start": "9", "end": "17:00" }] } })).await;
    assert_eq!(status, 422, "{err}");
    let (status, set) = a.client.put_json("/api/automation/hours", closed).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["open"], false);
    assert_eq!(set["next_change_at"], Value::Null, "never opens");
    assert_eq!(ben.client.get("/api/automation/hours").await.1["open"], false);
    server.stop().await;
}
