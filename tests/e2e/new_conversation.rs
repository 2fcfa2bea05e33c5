//! What the contacts page and "New conversation" ask of the server, on Postgres: one contact's
//! threads across channels (`GET /api/threads?contact_id=`, the team's own only), a new
//! conversation sent from the number the agent chose (`channel_id`), the team's numbers for an
//! agent (`GET /api/numbers`), and `contact.changed` on the team channel for every create,
//! change, delete, restore and purge, so an open contacts page follows teammates.

use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(2);

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test]
async fn a_contacts_threads_and_the_chosen_number(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let (_, carol) = ben.client.post("/api/contacts", json!({ "name": "Carol", "phone": "+14155550150" })).await;
    let (_, dave) = ben.client.post("/api/contacts", json!({ "name": "Dave", "phone": "+14155550151" })).await;

    // A second SMS number (a real one, added by the admin): an agent sees both, without the
    // Twilio account.
    let real =
        json!({ "kind": "sms", "number": "+15005550006", "account_sid": format!("AC{}", "b".repeat(32)), "auth_token": "e".repeat(32) });
    let (status, real) = ana.client.post("/api/channels", real).await;
    assert_eq!(status, 201, "{real}");
    let (status, numbers) = ben.client.get("/api/numbers").await;
    assert_eq!(status, 200, "{numbers}");
    let sms: Vec<&Value> = numbers["numbers"].as_array().unwrap().iter().filter(|n| n["kind"] == "sms").collect();
    assert_eq!(sms.len(), 2, "{numbers}");
    assert!(sms.iter().all(|n| n.get("account_sid").is_none()));
    let simulated = sms.iter().find(|n| n["simulated"] == true).unwrap()["id"].clone();

    // By default the real number; the chosen one when given (a thread per number).
    let (_, default) = ben.client.post("/api/threads/for-contact", json!({ "contact_id": carol["id"], "channel": "sms" })).await;
    assert_eq!(default["channel"]["id"], real["id"]);
    let (status, sent) = ben
        .client
        .post(
            "/api/messages",
            json!({ "contact_id": carol["id"], "channel": "sms", "channel_id": simulated, "body": "From the other number" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let (_, thread) = ben.client.get(&format!("/api/threads/{}", sent["thread_id"].as_str().unwrap())).await;
    assert_eq!(thread["thread"]["channel"]["id"], simulated);
    assert_ne!(sent["thread_id"], default["id"]);
    let (_, wa) = ben.client.post("/api/threads/for-contact", json!({ "contact_id": carol["id"], "channel": "whatsapp" })).await;
    ben.client.post("/api/threads/for-contact", json!({ "contact_id": dave["id"], "channel": "sms" })).await;

    // Carol's threads, every channel and number; nobody else's.
    let (status, page) = ben.client.get(&format!("/api/threads?contact_id={}", carol["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{page}");
    let mut got = ids(&page);
    got.sort();
    let mut want = vec![
        default["id"].as_str().unwrap().to_owned(),
        sent["thread_id"].as_str().unwrap().to_owned(),
        wa["id"].as_str().unwrap().to_owned(),
    ];
    want.sort();
    assert_eq!(got, want);
    // It combines with the other filters, and pages.
    let (_, wa_only) = ben.client.get(&format!("/api/threads?contact_id={}&channel=whatsapp", carol["id"].as_str().unwrap())).await;
    assert_eq!(ids(&wa_only), vec![wa["id"].as_str().unwrap().to_owned()]);
    let (_, first) = ben.client.get(&format!("/api/threads?contact_id={}&limit=2", carol["id"].as_str().unwrap())).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = ben.client.get(&format!("/api/threads?contact_id={}&limit=2&cursor={cursor}", carol["id"].as_str().unwrap())).await;
    assert_eq!(ids(&first).len() + ids(&second).len(), 3);

    // Another team: none of Carol's threads, and none of its numbers to send from.
    let eve = server.admin("Eve").await;
    let (_, theirs) = eve.client.get(&format!("/api/threads?contact_id={}", carol["id"].as_str().unwrap())).await;
    assert_eq!(theirs["items"], json!([]));
    let (_, eves) = eve.client.post("/api/contacts", json!({ "name": "Frank", "phone": "+14155550152" })).await;
    let (status, body) = eve
        .client
        .post("/api/messages", json!({ "contact_id": eves["id"], "channel": "sms", "channel_id": simulated, "body": "hi" }))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("channel_id")), "{body}");
    server.stop().await;
}

#[sqlx::test]
async fn every_contact_change_reaches_the_team_channel(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let mut page = ben.socket(&server).await;
    page.subscribe(&format!("presence-team-{}", ben.team_id)).await;

    let (_, carol) = ana.client.post("/api/contacts", json!({ "name": "Carol", "phone": "+14155550160" })).await;
    let path = format!("/api/contacts/{}", carol["id"].as_str().unwrap());
    let changed = page.expect_data("contact.changed", SOON).await;
    assert_eq!((changed["action"].as_str(), changed["id"].clone()), (Some("created"), carol["id"].clone()));
    assert_eq!(changed["contact"]["name"], "Carol");

    ana.client.patch(&path, json!({ "tags": ["vip"] })).await;
    let changed = page.expect_data("contact.changed", SOON).await;
    assert_eq!((changed["action"].as_str(), changed["contact"]["tags"].clone()), (Some("updated"), json!(["vip"])));

    assert_eq!(ana.client.delete(&path).await.0, 204);
    let changed = page.expect_data("contact.changed", SOON).await;
    assert_eq!(changed["action"], "deleted");
    assert!(changed["contact"]["deleted_at"].is_string(), "{changed}");

    ana.client.post(&format!("{path}/restore"), json!({})).await;
    let changed = page.expect_data("contact.changed", SOON).await;
    assert_eq!((changed["action"].as_str(), changed["contact"]["deleted_at"].clone()), (Some("restored"), Value::Null));

    assert_eq!(ana.client.delete(&format!("{path}?purge=true")).await.0, 204);
    let changed = page.expect_data("contact.changed", SOON).await;
    assert_eq!((changed["action"].as_str(), changed["contact"].clone()), (Some("purged"), Value::Null));

    // Another team hears none of it.
    let eve = server.admin("Eve").await;
    let mut theirs = eve.socket(&server).await;
    theirs.subscribe(&format!("presence-team-{}", eve.team_id)).await;
    ana.client.post("/api/contacts", json!({ "name": "Dave", "phone": "+14155550161" })).await;
    page.expect_data("contact.changed", SOON).await;
    theirs.expect_none("contact.changed", Duration::from_millis(300)).await;
    server.stop().await;
}
