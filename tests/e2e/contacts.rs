//! Contacts as a product: first and last names (the shown name derived), company, notes,
//! source, the team's custom fields, local numbers read in the team's default country; the
//! list's search, tag filter and orders with keyset pages; soft delete (threads stay
//! readable, a new message from the number brings the contact back), restore, purge (admins,
//! audited); another team sees none of it.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test]
async fn fields_country_and_custom_fields(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;

    // Custom fields are the admin's to define; values must use them.
    let fields = json!({ "fields": [{ "key": "plan", "label": "Plan" }, { "key": "account_no", "label": "Account number" }] });
    assert_eq!(ben.client.put_json("/api/team/contact-fields", fields.clone()).await.0, 403);
    let (status, body) = ana.client.put_json("/api/team/contact-fields", json!({ "fields": [{ "key": "Name", "label": "x" }] })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("fields")), "{body}");
    let (status, body) = ana.client.put_json("/api/team/contact-fields", fields).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ben.client.get("/api/team/contact-fields").await.1["fields"][1]["key"], "account_no");

    // Local numbers need the team's country.
    let local = json!({ "first_name": "Dana", "last_name": "Scully", "phone": "(415) 555-0143" });
    assert_eq!(ben.client.post("/api/contacts", local.clone()).await.0, 422);
    assert_eq!(ana.client.put_json("/api/team/default-country", json!({ "default_country": "XX" })).await.0, 422);
    let (status, body) = ana.client.put_json("/api/team/default-country", json!({ "default_country": "us" })).await;
    assert_eq!((status, body["default_country"].as_str()), (200, Some("US")));
    let mut full = local.clone();
    full["company"] = json!("FBI");
    full["notes"] = json!("Prefers texts after 6pm");
    full["tags"] = json!(["vip"]);
    full["custom_fields"] = json!({ "plan": "gold", "account_no": 1013 });
    let (status, dana) = ben.client.post("/api/contacts", full).await;
    assert_eq!(status, 201, "{dana}");
    assert_eq!(dana["name"], "Dana Scully", "the shown name is derived");
    assert_eq!(dana["phone"], "+14155550143");
    assert_eq!(dana["source"], "manual");
    assert_eq!(dana["custom_fields"], json!({ "plan": "gold", "account_no": "1013" }));
    let (status, body) =
        ben.client.post("/api/contacts", json!({ "name": "X", "phone": "+14155550144", "custom_fields": { "shoe": "9" } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("custom_fields")), "{body}");

    // Changing a part renames; clearing a field with null; a dropped field's values go.
    let path = format!("/api/contacts/{}", dana["id"].as_str().unwrap());
    let (status, body) = ben.client.patch(&path, json!({ "last_name": "Mulder", "company": null })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["name"].as_str(), body["company"].as_str()), (Some("Dana Mulder"), None));
    ana.client.put_json("/api/team/contact-fields", json!({ "fields": [{ "key": "plan", "label": "Plan" }] })).await;
    assert_eq!(ben.client.get(&path).await.1["custom_fields"], json!({ "plan": "gold" }));
    let (status, body) = ben.client.patch(&path, json!({ "opted_out": true, "opt_out_reason": "asked by phone" })).await;
    assert_eq!(status, 200);
    assert!(body["opted_out_at"].is_string() && body["opt_out_reason"] == "asked by phone", "{body}");
}

#[sqlx::test]
async fn search_tags_orders_and_pages(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    for (i, (name, tag, company)) in
        [("Carla", "vip", "Acme"), ("alice", "lead", "Initech"), ("Bob", "vip", "Acme"), ("dave", "vip", "Hooli")].iter().enumerate()
    {
        let body = json!({ "name": name, "phone": format!("+1415555020{i}"), "tags": [tag], "company": company });
        assert_eq!(ana.client.post("/api/contacts", body).await.0, 201);
    }
    // Bob writes in: he has the latest activity.
    assert_eq!(ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550202", "channel": "sms", "body": "hi" })).await.0, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(names(&ana.client.get("/api/contacts?search=acme").await.1), ["Bob", "Carla"]);
    assert_eq!(names(&ana.client.get("/api/contacts?tag=vip&sort=name").await.1), ["Bob", "Carla", "dave"]);
    assert_eq!(names(&ana.client.get("/api/contacts?sort=activity&limit=1").await.1), ["Bob"]);
    // Keyset pages by name, two at a time.
    let (_, first) = ana.client.get("/api/contacts?sort=name&limit=2").await;
    assert_eq!(names(&first), ["alice", "Bob"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = ana.client.get(&format!("/api/contacts?sort=name&limit=2&cursor={cursor}")).await;
    assert_eq!(names(&second), ["Carla", "dave"]);
    assert!(second["next_cursor"].is_null());
    assert_eq!(ana.client.get("/api/contacts?sort=name&cursor=bm9wZQ").await.0, 422);
    assert_eq!(ana.client.get("/api/contacts?sort=sideways").await.0, 422);

    // A tag holding a CSV tag separator would not come back the same from an export: refused,
    // by the contacts API, bulk tagging and a segment's filter alike.
    let (status, body) = ana.client.post("/api/contacts", json!({ "name": "Eve", "phone": "+14155550299", "tags": ["vip, east"] })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("tags")), "{body}");
    let (_, vips) = ana.client.get("/api/contacts?tag=vip").await;
    let id = vips["items"][0]["id"].as_str().unwrap();
    let (status, body) = ana.client.post("/api/contacts/bulk", json!({ "ids": [id], "action": "add_tag", "tag": "a|b" })).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) =
        ana.client.post("/api/lists", json!({ "name": "Odd", "kind": "segment", "filter": { "tags_any": ["a;b"] } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("filter.tags_any")), "{body}");
}

#[sqlx::test]
async fn soft_delete_keeps_history_and_purge_removes_it(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let olga = server.admin("Olga").await;
    let thread = ben.thread_with("Carol", "+14155550177").await;
    assert_eq!(ben.client.post("/api/messages", json!({ "thread_id": thread, "body": "Your order shipped" })).await.0, 201);
    let (_, t) = ben.client.get(&format!("/api/threads/{thread}")).await;
    let contact = t["thread"]["contact"]["id"].as_str().expect("the thread names its contact").to_owned();
    let path = format!("/api/contacts/{contact}");

    // Another team cannot touch it.
    assert_eq!(olga.client.get(&path).await.0, 404);
    assert_eq!(olga.client.delete(&path).await.0, 404);
    assert_eq!(olga.client.post(&format!("{path}/restore"), json!({})).await.0, 404);
    assert_eq!(olga.client.delete(&format!("{path}?purge=true")).await.0, 404);

    // Any member may delete softly: hidden from the list, the thread still reads.
    assert_eq!(ben.client.delete(&path).await.0, 204);
    assert!(names(&ben.client.get("/api/contacts").await.1).is_empty());
    assert_eq!(names(&ben.client.get("/api/contacts?deleted=true").await.1), ["Carol"]);
    assert_eq!(ben.client.get(&format!("/api/threads/{thread}")).await.0, 200);
    let (status, events) = ben.client.get(&format!("/api/threads/{thread}/events")).await;
    assert_eq!(status, 200);
    assert!(events.to_string().contains("Your order shipped"), "{events}");

    // A new message from the number brings her back; so does a restore.
    assert_eq!(
        ben.client.post("/api/simulator/inbound", json!({ "from": "+14155550177", "channel": "sms", "body": "thanks" })).await.0,
        202
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(names(&ben.client.get("/api/contacts").await.1), ["Carol"]);
    assert_eq!(ben.client.delete(&path).await.0, 204);
    let (status, restored) = ben.client.post(&format!("{path}/restore"), json!({})).await;
    assert_eq!((status, restored["deleted_at"].is_null()), (200, true));

    // Purging is for admins, and takes the history with it.
    assert_eq!(ben.client.delete(&format!("{path}?purge=true")).await.0, 403);
    assert_eq!(ana.client.delete(&format!("{path}?purge=true")).await.0, 204);
    assert_eq!(ben.client.get(&format!("/api/threads/{thread}")).await.0, 404);
    assert_eq!(ben.client.get(&path).await.0, 404);
    let (_, audit) = ana.client.get("/api/audit").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["contact.deleted", "contact.restored", "contact.purged"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
