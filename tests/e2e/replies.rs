//! Canned replies end to end: CRUD under the scope rules (team replies by admins, personal ones
//! by their owner), the preview of a reply for a conversation, a send that renders its body and
//! refuses (nothing stored) while a variable has no value, other teams' replies and threads as
//! 404, and changes live on the team and user channels.

use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test]
async fn replies_follow_their_scope_rules(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let cat = server.agent(&ana, "Cat").await;

    // An admin makes a team reply; an agent may not, but makes a personal one (the default).
    let team_reply = json!({ "scope": "team", "shortcut": "/Thanks", "title": "Thank you", "body": "Thanks, {{contact.first_name}}!" });
    let (status, shared) = ana.client.post("/api/replies", team_reply.clone()).await;
    assert_eq!(status, 201, "{shared}");
    assert_eq!((shared["shortcut"].as_str(), shared["scope"].as_str(), &shared["owner_id"]), (Some("thanks"), Some("team"), &Value::Null));
    let (status, body) = ben.client.post("/api/replies", json!({ "scope": "team", "shortcut": "mine", "title": "T", "body": "B" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, mine) = ben.client.post("/api/replies", json!({ "shortcut": "thanks", "title": "My thanks", "body": "Cheers" })).await;
    assert_eq!(status, 201, "a personal reply may reuse a team shortcut: {mine}");
    assert_eq!((mine["scope"].as_str(), mine["owner_id"].as_str()), (Some("personal"), Some(ben.id.as_str())));
    let (status, body) = ana.client.post("/api/replies", team_reply).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");

    // Validation: the shortcut, the title, the body's syntax with its position.
    for (bad, field) in [
        (json!({ "shortcut": "two words", "title": "T", "body": "B" }), "shortcut"),
        (json!({ "shortcut": "ok", "title": " ", "body": "B" }), "title"),
        (json!({ "shortcut": "ok", "title": "T", "body": "Hi {{ contact.first_name" }), "body"),
        (json!({ "shortcut": "ok", "title": "T", "body": "Hi {{ contact.name | upper }}" }), "body"),
        (json!({ "shortcut": "ok", "title": "T", "body": "x".repeat(1601) }), "body"),
    ] {
        let (status, body) = ben.client.post("/api/replies", bad.clone()).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some(field)), "{bad}: {body}");
    }
    let (_, body) = ben.client.post("/api/replies", json!({ "shortcut": "ok", "title": "T", "body": "Hi\n{{ contact.first_name" })).await;
    assert!(body["error"]["message"].as_str().unwrap().starts_with("body: line 2, column"), "{body}");

    // Who sees what: the team's replies and one's own, by shortcut.
    let (_, page) = ben.client.get("/api/replies").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, page) = cat.client.get("/api/replies").await;
    assert_eq!(ids(&page), vec![shared["id"].as_str().unwrap()], "Ben's reply is his alone");
    let (_, page) = ben.client.get("/api/replies?search=MY").await;
    assert_eq!(ids(&page), vec![mine["id"].as_str().unwrap()], "search reads titles");
    let (status, _) = cat.client.get(&format!("/api/replies/{}", mine["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);

    // Changes: the owner or (team replies) an admin.
    let shared_path = format!("/api/replies/{}", shared["id"].as_str().unwrap());
    let mine_path = format!("/api/replies/{}", mine["id"].as_str().unwrap());
    assert_eq!(ben.client.patch(&shared_path, json!({ "title": "Mine now" })).await.0, 403);
    assert_eq!(ana.client.patch(&mine_path, json!({ "title": "Mine now" })).await.0, 404, "not even an admin sees it");
    let (status, changed) = ben.client.patch(&mine_path, json!({ "body": "Cheers, {{contact.name}}" })).await;
    assert_eq!((status, changed["body"].as_str()), (200, Some("Cheers, {{contact.name}}")), "{changed}");
    let (status, body) = ben.client.patch(&mine_path, json!({ "body": "{% if x %}" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("body")));
    assert_eq!(ben.client.delete(&shared_path).await.0, 403);
    assert_eq!(cat.client.delete(&mine_path).await.0, 404);
    assert_eq!(ben.client.delete(&mine_path).await.0, 204);
    assert_eq!(ana.client.delete(&shared_path).await.0, 204);
    assert_eq!(ana.client.delete(&shared_path).await.0, 404);
    let (_, audit) = ana.client.get("/api/audit").await;
    let deleted: Vec<&Value> = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "reply.deleted").collect();
    assert_eq!(deleted.len(), 2, "both deletions are audited: {audit}");
}

#[sqlx::test]
async fn a_reply_renders_for_the_conversation_and_a_missing_value_blocks_the_send(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana Admin").await;
    let thread = ana.thread_with("Carla Diaz", "+14155550123").await;
    let body = "Hi {{contact.first_name}}, {{agent.first_name}} from {{team.name}} here. We'll email {{ contact.email }}.";

    // The preview fills what it can and keeps the rest visible, listed.
    let (status, preview) = ana.client.post("/api/replies/preview", json!({ "body": body, "thread_id": thread })).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["text"], "Hi Carla, Ana from Ana Admin's team here. We'll email {{contact.email}}.");
    assert_eq!(preview["missing"], json!(["contact.email"]));
    let (status, bad) = ana.client.post("/api/replies/preview", json!({ "body": "Hi {{ nope }}", "thread_id": thread })).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (422, Some("body")), "{bad}");

    // Sending with render: refused with the list, and nothing is stored or sent.
    let (status, refused) = ana.client.post("/api/messages", json!({ "thread_id": thread, "body": body, "render": true })).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "missing_variables");
    assert_eq!(refused["error"]["missing"], json!(["contact.email"]));
    assert!(refused["error"]["message"].as_str().unwrap().contains("{{contact.email}}"), "{refused}");
    let (_, view) = ana.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 0, "nothing was stored: {view}");

    // Once the contact has the value, the same send goes out rendered.
    let contact = view["thread"]["contact"]["id"].as_str().unwrap();
    let (status, _) = ana.client.patch(&format!("/api/contacts/{contact}"), json!({ "email": "carla@example.com" })).await;
    assert_eq!(status, 200);
    let (status, sent) = ana.client.post("/api/messages", json!({ "thread_id": thread, "body": body, "render": true })).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["body"], "Hi Carla, Ana from Ana Admin's team here. We'll email carla@example.com.");

    // Without render a body is sent exactly as typed, braces and all.
    let (status, plain) =
        ana.client.post("/api/messages", json!({ "thread_id": thread, "body": "Use {{contact.first_name}} in replies" })).await;
    assert_eq!((status, plain["body"].as_str()), (201, Some("Use {{contact.first_name}} in replies")));

    // A reply by id: rendered the same way; a body beside it is refused.
    let (_, reply) = ana
        .client
        .post("/api/replies", json!({ "shortcut": "sig", "title": "Signature", "body": "— {{agent.name}}, {{team.name}}" }))
        .await;
    let (status, sent) = ana.client.post("/api/messages", json!({ "thread_id": thread, "reply_id": reply["id"] })).await;
    assert_eq!((status, sent["body"].as_str()), (201, Some("— Ana Admin, Ana Admin's team")), "{sent}");
    let (status, _) = ana.client.post("/api/messages", json!({ "thread_id": thread, "reply_id": reply["id"], "body": "x" })).await;
    assert_eq!(status, 422);
    let (_, view) = ana.client.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 3);

    // The contact's name parts, company and the team's custom fields are variables too.
    let fields = json!({ "fields": [{ "key": "plan", "label": "Plan" }, { "key": "tier", "label": "Tier" }] });
    let (status, _) = ana.client.put_json("/api/team/contact-fields", fields).await;
    assert_eq!(status, 200);
    let change = json!({ "first_name": "Carlita", "company": "Diaz & Co", "custom_fields": { "plan": "Gold" } });
    let (status, body) = ana.client.patch(&format!("/api/contacts/{contact}"), change).await;
    assert_eq!(status, 200, "{body}");
    let body = "{{contact.first_name}} at {{contact.company}} ({{contact.plan}} plan)";
    let (_, preview) = ana.client.post("/api/replies/preview", json!({ "body": body, "thread_id": thread })).await;
    assert_eq!(preview["text"], "Carlita at Diaz & Co (Gold plan)", "{preview}");
    assert_eq!(preview["missing"], json!([]));

    // A scheduled message's body edited with render is filled in the same way; a missing value
    // refuses the edit and leaves the message as it was.
    let later =
        (time::OffsetDateTime::now_utc() + time::Duration::hours(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, scheduled) = ana.client.post("/api/messages", json!({ "thread_id": thread, "body": "Later", "send_at": later })).await;
    assert_eq!(status, 201, "{scheduled}");
    let path = format!("/api/messages/{}", scheduled["id"].as_str().unwrap());
    let (status, edited) = ana.client.patch(&path, json!({ "body": "See you, {{contact.first_name}}", "render": true })).await;
    assert_eq!((status, edited["body"].as_str()), (200, Some("See you, Carlita")), "{edited}");
    let (status, refused) = ana.client.patch(&path, json!({ "body": "{{contact.tier}}?", "render": true })).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("missing_variables")), "{refused}");
    let (_, view) = ana.client.get(&format!("/api/threads/{thread}")).await;
    let kept = view["messages"].as_array().unwrap().iter().find(|m| m["id"] == scheduled["id"]).cloned().unwrap();
    assert_eq!(kept["body"], "See you, Carlita");
}

#[sqlx::test]
async fn another_teams_replies_and_threads_are_not_found(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let zed = server.admin("Zed").await;
    let (_, theirs) = zed.client.post("/api/replies", json!({ "scope": "team", "shortcut": "hi", "title": "Hi", "body": "Hi" })).await;
    let path = format!("/api/replies/{}", theirs["id"].as_str().unwrap());
    assert_eq!(ana.client.get(&path).await.0, 404);
    assert_eq!(ana.client.patch(&path, json!({ "title": "Mine" })).await.0, 404);
    assert_eq!(ana.client.delete(&path).await.0, 404);
    assert_eq!(ana.client.get("/api/replies/not-a-uuid").await.0, 404);
    let (_, page) = ana.client.get("/api/replies").await;
    assert!(ids(&page).is_empty());

    let their_thread = zed.thread_with("Yves", "+14155550188").await;
    let (status, _) = ana.client.post("/api/replies/preview", json!({ "body": "Hi", "thread_id": their_thread })).await;
    assert_eq!(status, 404);
    let (status, _) =
        ana.client.post("/api/messages", json!({ "thread_id": their_thread, "body": "Hi {{contact.name}}", "render": true })).await;
    assert_eq!(status, 404);
    let my_thread = ana.thread_with("Xia", "+14155550177").await;
    let (status, _) = ana.client.post("/api/messages", json!({ "thread_id": my_thread, "reply_id": theirs["id"] })).await;
    assert_eq!(status, 404, "another team's reply cannot be sent");
    let (status, _) = ana.client.get("/api/replies?cursor=garbage").await;
    assert_eq!(status, 422);
}

#[sqlx::test]
async fn changes_are_live_for_whoever_may_see_them(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let mut ben_team = ben.socket(&server).await;
    ben_team.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    let mut ben_own = ben.socket(&server).await;
    ben_own.subscribe(&format!("private-user-{}", ben.id)).await;
    let mut ana_own = ana.socket(&server).await;
    ana_own.subscribe(&format!("private-user-{}", ana.id)).await;

    let (_, shared) =
        ana.client.post("/api/replies", json!({ "scope": "team", "shortcut": "hours", "title": "Hours", "body": "9-5" })).await;
    let data = ben_team.expect_data("reply.changed", Duration::from_secs(2)).await;
    assert_eq!(data["reply"]["id"], shared["id"]);
    let (_, mine) = ben.client.post("/api/replies", json!({ "shortcut": "sig", "title": "Sig", "body": "— Ben" })).await;
    let data = ben_own.expect_data("reply.changed", Duration::from_secs(2)).await;
    assert_eq!(data["reply"]["id"], mine["id"]);
    ben_team.expect_none("reply.changed", Duration::from_millis(300)).await;
    ana_own.expect_none("reply.changed", Duration::from_millis(100)).await;

    assert_eq!(ana.client.delete(&format!("/api/replies/{}", shared["id"].as_str().unwrap())).await.0, 204);
    let data = ben_team.expect_data("reply.deleted", Duration::from_secs(2)).await;
    assert_eq!((data["id"].clone(), data["scope"].clone()), (shared["id"].clone(), json!("team")));
}
