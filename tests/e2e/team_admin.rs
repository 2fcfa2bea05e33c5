//! Team administration end to end: offboarding (a removed or deactivated agent's cookie, token
//! and open sockets stop working within a second, on every node), roles under the last-admin
//! rule, invites (list, re-send, revoke, expiry) and the audit log an admin reads.

use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// Invites `name` (as `role`) into `admin`'s team and signs them up with a known email.
async fn join(server: &TestServer, admin: &Agent, name: &str, role: &str) -> (Agent, String) {
    let (status, invite) = admin.client.post("/api/invites", json!({ "role": role })).await;
    assert_eq!(status, 201, "{invite}");
    let email = format!("{}@{}.test", name.to_lowercase(), uuid_short());
    let client = server.client();
    let (status, body) =
        client.post("/api/auth/sign-up", json!({ "email": email, "password": PASSWORD, "name": name, "invite": invite["token"] })).await;
    assert_eq!(status, 201, "{body}");
    let agent = Agent {
        client,
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        team_id: body["team"]["id"].as_str().unwrap().to_owned(),
        name: name.to_owned(),
    };
    (agent, email)
}

/// A fresh client signing in as `email`: the status.
async fn sign_in(server: &TestServer, email: &str) -> u16 {
    server.client().post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await.0
}

async fn bearer(base: &str, token: &str, path: &str) -> u16 {
    reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

fn member<'a>(members: &'a Value, id: &str) -> Option<&'a Value> {
    members["members"].as_array().unwrap().iter().find(|m| m["id"] == id)
}

#[sqlx::test]
async fn a_removed_agent_loses_cookie_token_and_sockets_on_every_node_at_once(_p: PgPoolOptions, opts: PgConnectOptions) {
    let redis = |c: &mut switchboard::Config| c.redis_url = "redis://127.0.0.1:6379/".into();
    let node_a = TestServer::start_with(&opts, redis).await;
    let node_b = TestServer::start_with(&opts, redis).await;
    let ana = node_a.admin("Ana").await;
    let (ben, ben_email) = join(&node_a, &ana, "Ben", "agent").await;

    // Ben works: a thread assigned to him with a message of his, a token for his script, a
    // browser socket on node B (authorized through node A) and the script's socket on node A.
    let thread = ana.thread_with("Carla", "+14155550123").await;
    let (status, _) = ana.client.patch(&format!("/api/threads/{thread}"), json!({ "assignee_id": ben.id })).await;
    assert_eq!(status, 200);
    let (status, sent) = ben.client.post("/api/messages", json!({ "thread_id": thread, "body": "On it" })).await;
    assert_eq!(status, 201, "{sent}");
    let (status, token) = ben.client.post("/api/tokens", json!({ "name": "script" })).await;
    assert_eq!(status, 201);
    let secret = token["token"].as_str().unwrap().to_owned();
    let mut browser = Ws::connect(&node_b, ben.client.clone()).await;
    browser.subscribe(&format!("private-user-{}", ben.id)).await;
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let script_client = Client { http: reqwest::Client::builder().default_headers(auth).build().unwrap(), base: node_a.base.clone() };
    let mut script = Ws::connect(&node_a, script_client).await;
    script.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    // Ana watches the team on node A.
    let mut ana_ws = Ws::connect(&node_a, ana.client.clone()).await;
    ana_ws.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Ana removes Ben from node B, handing his threads back to the team.
    let ana_on_b = Client { http: ana.client.http.clone(), base: node_b.base.clone() };
    let started = std::time::Instant::now();
    let (status, body) = ana_on_b.delete(&format!("/api/team/members/{}?threads=unassign", ben.id)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(browser.closed(Duration::from_secs(1)).await, Some(4009), "his browser socket on node B");
    assert_eq!(script.closed(Duration::from_secs(1)).await, Some(4009), "his script's socket on node A");
    assert!(started.elapsed() < Duration::from_secs(1), "within a second: {:?}", started.elapsed());
    assert_eq!(ben.client.get("/api/me").await.0, 401, "his cookie");
    assert_eq!(bearer(&node_b.base, &secret, "/api/me").await, 401, "his token");
    assert_eq!(sign_in(&node_a, &ben_email).await, 401, "his password");
    // His socket cannot be re-authorized either.
    assert_eq!(ben.client.pusher_auth("1.1", &format!("private-user-{}", ben.id)).await.0, 401);

    // His thread is unassigned, live; his message stays readable, signed with his name.
    let update = ana_ws.expect_data("thread.updated", Duration::from_secs(2)).await;
    assert!(update.to_string().contains(&thread), "{update}");
    let (_, t) = ana.client.get(&format!("/api/threads/{thread}")).await;
    assert!(t["assignee_id"].is_null(), "{t}");
    let (status, events) = ana.client.get(&format!("/api/threads/{thread}/events")).await;
    assert_eq!(status, 200);
    assert!(events.to_string().contains("On it") && events.to_string().contains("Ben"), "{events}");
    // He is gone from the team's list; his address may be invited again.
    let (_, members) = ana.client.get("/api/team/members").await;
    assert!(member(&members, &ben.id).is_none(), "{members}");
    assert_eq!(ana.client.delete(&format!("/api/team/members/{}", ben.id)).await.0, 404, "removed already");
    let (again, _) = join(&node_a, &ana, "Ben", "agent").await;
    assert_ne!(again.id, ben.id);

    // The audit log says who removed whom, from where.
    let (_, audit) = ana.client.get("/api/audit").await;
    let removed = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "member.removed").expect("member.removed");
    assert_eq!(removed["actor_id"], ana.id);
    assert_eq!(removed["target_type"], "user");
    assert_eq!(removed["target_id"], ben.id);
    assert_eq!(removed["ip"], "127.0.0.1");
    node_a.stop().await;
    node_b.stop().await;
}

#[sqlx::test]
async fn deactivation_role_changes_and_the_last_admin(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let (ben, ben_email) = join(&server, &ana, "Ben", "agent").await;
    let other = server.admin("Olga").await;
    let path = |a: &Agent| format!("/api/team/members/{}", a.id);

    // Only admins manage members; nobody reaches another team's.
    assert_eq!(ben.client.patch(&path(&ana), json!({ "role": "agent" })).await.0, 403);
    assert_eq!(other.client.patch(&path(&ben), json!({ "active": false })).await.0, 404);
    assert_eq!(other.client.delete(&path(&ben)).await.0, 404);
    // Bad requests say what is wrong.
    let (status, body) = ana.client.patch(&path(&ben), json!({ "role": "owner" })).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = ana.client.patch(&path(&ben), json!({})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("role")), "{body}");
    assert_eq!(ana.client.patch("/api/team/members/not-an-id", json!({ "active": false })).await.0, 404);

    // The last admin can be neither demoted nor deactivated, and nobody deactivates themselves.
    let (status, body) = ana.client.patch(&path(&ana), json!({ "role": "agent" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    let (status, body) = ana.client.patch(&path(&ana), json!({ "active": false })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("active")), "{body}");
    assert_eq!(ana.client.delete(&path(&ana)).await.0, 422);

    // A promotion closes Ben's sockets (their channels were authorized under his old rights) and
    // takes effect at once; then Ana may step down.
    let mut ws = Ws::connect(&server, ben.client.clone()).await;
    ws.subscribe(&format!("private-user-{}", ben.id)).await;
    let (status, body) = ana.client.patch(&path(&ben), json!({ "role": "admin" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member"]["role"], "admin");
    assert_eq!(ws.closed(Duration::from_secs(1)).await, Some(4009));
    assert_eq!(ben.client.get("/api/me").await.1["role"], "admin", "his session stays, with the new role");
    assert_eq!(ben.client.get("/api/invites").await.0, 200);
    let (status, _) = ana.client.patch(&path(&ana), json!({ "role": "agent" })).await;
    assert_eq!(status, 200, "another admin remains");
    let (status, _) = ben.client.patch(&path(&ben), json!({ "role": "agent" })).await;
    assert_eq!(status, 409, "Ben is now the last admin");
    let (status, _) = ben.client.patch(&path(&ana), json!({ "role": "admin" })).await;
    assert_eq!(status, 200);

    // Deactivation: signed out everywhere, cannot sign in; listed as inactive for admins and not
    // at all for agents; reactivation lets him sign in again (old sessions stay dead).
    let (status, body) = ana.client.patch(&path(&ben), json!({ "active": false })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member"]["active"], false);
    assert!(body["member"]["deactivated_at"].is_string());
    assert_eq!(ben.client.get("/api/me").await.0, 401);
    assert_eq!(sign_in(&server, &ben_email).await, 401);
    let (_, members) = ana.client.get("/api/team/members").await;
    assert_eq!(member(&members, &ben.id).unwrap()["active"], false);
    let (status, _) = ana.client.patch(&path(&ben), json!({ "active": true })).await;
    assert_eq!(status, 200);
    assert_eq!(ben.client.get("/api/me").await.0, 401, "the old session stays revoked");
    assert_eq!(sign_in(&server, &ben_email).await, 200);

    // A deactivated member cannot be assigned threads.
    let (carl, _) = join(&server, &ana, "Carl", "agent").await;
    assert_eq!(ana.client.patch(&path(&carl), json!({ "active": false })).await.0, 200);
    let thread = ana.thread_with("Dora", "+14155550124").await;
    let (status, body) = ana.client.patch(&format!("/api/threads/{thread}"), json!({ "assignee_id": carl.id })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("assignee_id")), "{body}");
    assert_eq!(carl.client.get("/api/team/members").await.0, 401, "Carl is signed out");
    let (dan, _) = join(&server, &ana, "Dan", "agent").await;
    let (_, agents_view) = dan.client.get("/api/team/members").await;
    assert!(member(&agents_view, &carl.id).is_none(), "agents see the active team only: {agents_view}");

    // Each change is in the audit log.
    let (_, audit) = ana.client.get("/api/audit?limit=200").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["member.role_changed", "member.deactivated", "member.reactivated"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    server.stop().await;
}

#[sqlx::test]
async fn invites_are_listed_resent_revoked_and_expire(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let (ben, _) = join(&server, &ana, "Ben", "agent").await;
    let sign_up = |token: Value| {
        let client = server.client();
        async move {
            let email = format!("new.{}@x.test", uuid_short());
            client.post("/api/auth/sign-up", json!({ "email": email, "password": PASSWORD, "name": "New", "invite": token })).await
        }
    };

    let (status, made) = ana.client.post("/api/invites", json!({ "role": "agent", "email": "zoe@x.test", "expires_in_days": 3 })).await;
    assert_eq!(status, 201, "{made}");
    let id = made["invite"]["id"].as_str().unwrap().to_owned();
    let left = time::OffsetDateTime::parse(made["invite"]["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
        .unwrap()
        - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::days(2) && left <= time::Duration::days(3), "{made}");
    assert_eq!(ana.client.post("/api/invites", json!({ "role": "agent", "expires_in_days": 0 })).await.0, 422);
    let (_, open) = ana.client.post("/api/invites", json!({ "role": "admin" })).await;

    // Listed (newest first, without tokens; the accepted invite of Ben is not), admins only.
    let (status, list) = ana.client.get("/api/invites").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![open["invite"]["id"].as_str().unwrap(), id.as_str()]);
    assert!(!list.to_string().contains(made["token"].as_str().unwrap()), "never the token");
    assert_eq!(ben.client.get("/api/invites").await.0, 403);
    let (_, page) = ana.client.get("/api/invites?limit=1").await;
    let (_, rest) = ana.client.get(&format!("/api/invites?limit=1&cursor={}", page["next_cursor"].as_str().unwrap())).await;
    assert_eq!(rest["items"][0]["id"], id.as_str());
    assert_eq!(ana.client.get("/api/invites?cursor=bogus").await.0, 422);

    // Re-sent: a new link; the old one no longer works.
    let (status, resent) = ana.client.post(&format!("/api/invites/{id}/resend"), json!({ "expires_in_days": 7 })).await;
    assert_eq!(status, 200, "{resent}");
    assert_ne!(resent["token"], made["token"]);
    assert_eq!(sign_up(made["token"].clone()).await.0, 422, "the old link");

    // Revoked: the new link stops working too; it is listed no more.
    assert_eq!(ana.client.delete(&format!("/api/invites/{id}")).await.0, 204);
    let (status, body) = sign_up(resent["token"].clone()).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("invite")), "{body}");
    assert_eq!(ana.client.delete(&format!("/api/invites/{id}")).await.0, 404, "revoked already");
    assert_eq!(ana.client.post(&format!("/api/invites/{id}/resend"), json!({})).await.0, 404);
    let other = server.admin("Olga").await;
    let open_id = open["invite"]["id"].as_str().unwrap();
    assert_eq!(other.client.delete(&format!("/api/invites/{open_id}")).await.0, 404, "another team's");

    // An expired invite cannot be used, but can be re-sent (re-sending without a body).
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    sqlx::query("UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(open_id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(sign_up(open["token"].clone()).await.0, 422);
    let res = ana.client.http.post(format!("{}/api/invites/{open_id}/resend", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let renewed: Value = res.json().await.unwrap();
    assert_eq!(sign_up(renewed["token"].clone()).await.0, 201, "the re-sent link works");

    let (_, audit) = ana.client.get("/api/audit?limit=200").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["invite.created", "invite.resent", "invite.revoked", "invite.accepted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    server.stop().await;
}

#[sqlx::test]
async fn the_audit_log_pages_and_says_who_did_what_from_where(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let (ben, ben_email) = join(&server, &ana, "Ben", "agent").await;
    let olga = server.admin("Olga").await;

    // A failed and a successful sign-in from a browser, a sign-out.
    let browser = reqwest::Client::builder().cookie_store(true).user_agent("Firefox/140 test").build().unwrap();
    let url = format!("{}/api/auth/sign-in", server.base);
    let res = browser.post(&url).json(&json!({ "email": ben_email, "password": "wrong password!" })).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = browser.post(&url).json(&json!({ "email": ben_email, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = browser.post(format!("{}/api/auth/sign-out", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 204);

    // Destructive actions: exporting all messages and purging a contact are admins' only.
    assert_eq!(ben.client.get("/api/analytics/export.csv").await.0, 403);
    assert_eq!(ana.client.get("/api/analytics/export.csv").await.0, 200);
    let (_, contact) = ben.client.post("/api/contacts", json!({ "name": "Eve", "phone": "+14155550125" })).await;
    let contact_path = format!("/api/contacts/{}", contact["id"].as_str().unwrap());
    assert_eq!(ben.client.delete(&format!("{contact_path}?purge=true")).await.0, 403);
    assert_eq!(ana.client.delete(&format!("{contact_path}?purge=true")).await.0, 204);

    // Admins only, one team's only.
    assert_eq!(ben.client.get("/api/audit").await.0, 403);
    let (_, theirs) = olga.client.get("/api/audit?limit=200").await;
    assert!(!theirs.to_string().contains(&ben.id), "another team's log: {theirs}");

    // Newest first, in pages that meet exactly.
    let (status, all) = ana.client.get("/api/audit?limit=200").await;
    assert_eq!(status, 200, "{all}");
    let items = all["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        &actions[..6],
        ["contact.purged", "messages.exported", "sign_out", "sign_in.succeeded", "sign_in.failed", "invite.accepted"],
        "{actions:?}"
    );
    for key in ["id", "action", "actor_id", "target_type", "target_id", "ip", "user_agent", "created_at", "details"] {
        assert!(items[0].get(key).is_some(), "{key} in {}", items[0]);
    }
    let failed = &items[4];
    assert_eq!(failed["target_id"], ben.id);
    assert_eq!(failed["user_agent"], "Firefox/140 test");
    assert_eq!(failed["ip"], "127.0.0.1");
    assert_eq!(failed["details"]["email"], ben_email);
    assert_eq!(items[3]["actor_id"], ben.id);
    assert_eq!(items[0]["target_id"], contact["id"]);

    let mut paged = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/audit?limit=3&cursor={c}"),
            None => "/api/audit?limit=3".to_owned(),
        };
        let (status, page) = ana.client.get(&path).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(paged, ids);
    for bad in ["bogus", "YS03NTM3", "%00"] {
        let (status, body) = ana.client.get(&format!("/api/audit?cursor={bad}")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("cursor")), "{bad}: {body}");
    }
    server.stop().await;
}
