//! End-to-end tests of the foundation: accounts and sessions, tokens and invites, contacts and
//! threads with their filters, tenant isolation, and bad input.

use crate::support::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test]
async fn sign_up_sign_in_sign_out_and_me(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let client = server.client();
    // Sign up creates a team whose admin is the new user, and signs them in.
    let res = client
        .http
        .post(format!("{}/api/auth/sign-up", server.base))
        .json(&json!({ "email": "Ana@Example.com", "password": "long enough pw", "name": "Ana", "team_name": "Acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http base: no Secure flag");
    let (status, me) = client.get("/api/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["email"], "ana@example.com");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["team"]["name"], "Acme");
    assert_eq!(me["team"]["simulator_mode"], true);
    assert_eq!(me["pusher"]["key"], "test-key");

    // Easy passwords are refused, naming the field (8 spaces, digits, a common word).
    for weak in ["        ", "12345678", "1234567890", "password123"] {
        let (status, body) = server
            .client()
            .post("/api/auth/sign-up", json!({ "email": "bo@example.com", "password": weak, "name": "Bo", "team_name": "B" }))
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("password")), "{weak:?}: {body}");
    }

    // The same email again is a conflict.
    let (status, body) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "ana@example.com", "password": "long enough pw", "name": "A", "team_name": "B" }))
        .await;
    assert_eq!(status, 409, "{body}");

    // Sign out ends the session: the old cookie no longer works.
    let (status, _) = client.post("/api/auth/sign-out", json!({})).await;
    assert_eq!(status, 204);
    let (status, body) = client.get("/api/me").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");

    // Sign in again: a new session id (rotated), and the user is back.
    let res = client
        .http
        .post(format!("{}/api/auth/sign-in", server.base))
        .json(&json!({ "email": "ana@example.com", "password": "long enough pw" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_ne!(second.split(';').next(), cookie.split(';').next());
    assert_eq!(client.get("/api/me").await.0, 200);
    server.stop().await;
}

#[sqlx::test]
async fn wrong_password_and_unknown_email_look_the_same(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let admin = server.admin("Ana").await;
    let (_, me) = admin.client.get("/api/me").await;
    let email = me["user"]["email"].as_str().unwrap().to_owned();
    let (s1, wrong) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "nope nope nope" })).await;
    let (s2, unknown) = server.client().post("/api/auth/sign-in", json!({ "email": "nobody@x.test", "password": "nope nope nope" })).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown);
    server.stop().await;
}

#[sqlx::test]
async fn sign_in_is_rate_limited_per_ip(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.auth_rate_per_minute = 3).await;
    let client = server.client();
    for _ in 0..3 {
        let (status, _) = client.post("/api/auth/sign-in", json!({ "email": "a@b.test", "password": "whatever1" })).await;
        assert_eq!(status, 401);
    }
    let res = client
        .http
        .post(format!("{}/api/auth/sign-in", server.base))
        .json(&json!({ "email": "a@b.test", "password": "whatever1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    server.stop().await;
}

#[sqlx::test]
async fn tokens_invites_members_and_admin_only_routes(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let admin = server.admin("Ana").await;
    let agent = server.agent(&admin, "Ben").await;
    assert_eq!(agent.team_id, admin.team_id);

    // Members of the team, by name.
    let (status, members) = agent.client.get("/api/team/members").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = members["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Ana", "Ben"]);

    // Agents may not invite, nor manage channels or settings.
    assert_eq!(agent.client.post("/api/invites", json!({ "role": "agent" })).await.0, 403);
    assert_eq!(agent.client.get("/api/channels").await.0, 403);
    assert_eq!(agent.client.get("/api/settings").await.0, 403);

    // An API token works as a bearer credential, and is shown once.
    let (status, token) = agent.client.post("/api/tokens", json!({ "name": "script" })).await;
    assert_eq!(status, 201);
    let bearer = token["token"].as_str().unwrap();
    let res = reqwest::Client::new().get(format!("{}/api/me", server.base)).bearer_auth(bearer).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["user"]["id"], agent.id);
    let res = reqwest::Client::new().get(format!("{}/api/me", server.base)).bearer_auth("sb_wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);

    // An invite is used once.
    let (_, invite) = admin.client.post("/api/invites", json!({ "role": "agent", "email": "cy@x.test" })).await;
    let token = invite["token"].clone();
    let (status, body) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "other@x.test", "password": "long enough pw", "name": "Cy", "invite": token }))
        .await;
    assert_eq!(status, 422, "an invite for another email: {body}");
    let (status, _) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "cy@x.test", "password": "long enough pw", "name": "Cy", "invite": token }))
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "cy2@x.test", "password": "long enough pw", "name": "Cy", "invite": token }))
        .await;
    assert_eq!(status, 422);
    server.stop().await;
}

#[sqlx::test]
async fn closed_sign_up_leaves_invites_as_the_only_way_in(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.open_signup = false).await;
    let (status, body) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "a@x.test", "password": "long enough pw", "name": "A", "team_name": "T" }))
        .await;
    assert_eq!(status, 403, "{body}");
    server.stop().await;
}

#[sqlx::test]
async fn contacts_crud_with_e164_and_duplicates(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Ana").await;
    let b = server.admin("Bea").await;
    let (status, c) = a
        .client
        .post("/api/contacts", json!({ "name": "Carl", "phone": "+1 (415) 555-2671", "email": "Carl@X.test", "tags": ["vip", " "] }))
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["phone"], "+14155552671");
    assert_eq!(c["email"], "carl@x.test");
    assert_eq!(c["tags"], json!(["vip"]));
    let id = c["id"].as_str().unwrap();

    // The same phone in the same team is a conflict; in another team it is fine.
    let (status, body) = a.client.post("/api/contacts", json!({ "name": "Dup", "phone": "+14155552671" })).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(b.client.post("/api/contacts", json!({ "name": "Carl", "phone": "+14155552671" })).await.0, 201);

    // Read, update (clearing the email with null), list, search, delete.
    assert_eq!(a.client.get(&format!("/api/contacts/{id}")).await.1["name"], "Carl");
    let (status, updated) =
        a.client.patch(&format!("/api/contacts/{id}"), json!({ "name": "Carl Jr", "email": null, "opted_out": true })).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Carl Jr");
    assert!(updated["email"].is_null());
    assert!(updated["opted_out_at"].is_string());
    let (_, found) = a.client.get("/api/contacts?search=jr").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, found) = a.client.get("/api/contacts?search=5552671").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    // Deleting hides the contact (it still reads, marked deleted); purging removes it.
    assert_eq!(a.client.delete(&format!("/api/contacts/{id}")).await.0, 204);
    let (status, hidden) = a.client.get(&format!("/api/contacts/{id}")).await;
    assert_eq!((status, hidden["deleted_at"].is_string()), (200, true));
    assert_eq!(a.client.delete(&format!("/api/contacts/{id}?purge=true")).await.0, 204);
    assert_eq!(a.client.get(&format!("/api/contacts/{id}")).await.0, 404);
    server.stop().await;
}

#[sqlx::test]
async fn another_team_cannot_see_or_touch_anything(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Ana").await;
    let b = server.admin("Bea").await;
    let thread = a.thread_with("Secret Sam", "+14155550188").await;
    let (_, contacts) = a.client.get("/api/contacts").await;
    let contact = contacts["items"][0]["id"].as_str().unwrap().to_owned();

    for path in [
        format!("/api/contacts/{contact}"),
        format!("/api/threads/{thread}"),
        format!("/api/threads/{thread}/events?after=0"),
        format!("/api/threads/{thread}/notes"),
    ] {
        let (status, body) = b.client.get(&path).await;
        assert_eq!(status, 404, "GET {path}: {body}");
    }
    assert_eq!(b.client.patch(&format!("/api/contacts/{contact}"), json!({ "name": "pwned" })).await.0, 404);
    assert_eq!(b.client.delete(&format!("/api/contacts/{contact}")).await.0, 404);
    assert_eq!(b.client.patch(&format!("/api/threads/{thread}"), json!({ "status": "resolved" })).await.0, 404);
    assert_eq!(b.client.post(&format!("/api/threads/{thread}/read"), json!({})).await.0, 404);
    assert_eq!(b.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "hi" })).await.0, 404);
    assert_eq!(b.client.post("/api/messages", json!({ "thread_id": thread, "body": "hi" })).await.0, 404);
    assert_eq!(b.client.post("/api/threads/for-contact", json!({ "contact_id": contact, "channel": "sms" })).await.0, 404);
    assert_eq!(b.client.get("/api/threads?search=Secret").await.1["items"].as_array().unwrap().len(), 0);
    assert_eq!(b.client.get("/api/contacts?search=Secret").await.1["items"].as_array().unwrap().len(), 0);
    // Assigning to another team's user is refused too.
    let (status, _) = a.client.patch(&format!("/api/threads/{thread}"), json!({ "assignee_id": b.id })).await;
    assert_eq!(status, 422);
    // And the owner still sees everything unchanged.
    assert_eq!(a.client.get(&format!("/api/contacts/{contact}")).await.1["name"], "Secret Sam");
    server.stop().await;
}

#[sqlx::test]
async fn thread_filters_and_cursor_pagination(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Ana").await;
    let mut threads = vec![];
    for i in 0..5 {
        threads.push(a.thread_with(&format!("Person {i}"), &format!("+1415555020{i}")).await);
    }
    // An inbound message makes thread 2 unread; thread 3 is assigned to Ana and pending.
    let (status, _) = a.client.post("/api/simulator/inbound", json!({ "from": "+14155550202", "channel": "sms", "body": "hello?" })).await;
    assert_eq!(status, 202);
    a.client.patch(&format!("/api/threads/{}", threads[3]), json!({ "assignee_id": a.id, "status": "pending" })).await;

    let (_, unread) = a.client.get("/api/threads?unread=true").await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    assert_eq!(unread["items"][0]["id"], threads[2]);
    assert_eq!(unread["items"][0]["unread_count"], 1);
    let (_, mine) = a.client.get("/api/threads?assignee=me").await;
    assert_eq!(mine["items"][0]["id"], threads[3]);
    assert_eq!(mine["items"][0]["assignee_name"], "Ana");
    let (_, pending) = a.client.get("/api/threads?status=pending").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    let (_, wa) = a.client.get("/api/threads?channel=whatsapp").await;
    assert_eq!(wa["items"].as_array().unwrap().len(), 0);
    let (_, search) = a.client.get("/api/threads?search=person%204").await;
    assert_eq!(search["items"][0]["id"], threads[4]);

    // Reading resets unread.
    let (_, read) = a.client.post(&format!("/api/threads/{}/read", threads[2]), json!({})).await;
    assert_eq!(read["unread_count"], 0);

    // Pages of two walk every thread once, newest activity first.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/threads?limit=2&cursor={c}"),
            None => "/api/threads?limit=2".to_owned(),
        };
        let (status, page) = a.client.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], threads[2], "the thread with the newest message is first");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    // A made-up cursor is a clear 422.
    assert_eq!(a.client.get("/api/threads?cursor=garbage").await.0, 422);
    server.stop().await;
}

#[sqlx::test]
async fn bad_input_gets_clear_json_errors(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Ana").await;
    // Malformed JSON: 400.
    let (status, body) = a.client.post_raw("/api/contacts", "application/json", "{\"name\": ").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    // A missing field: 422 naming it.
    let (status, body) = a.client.post("/api/contacts", json!({ "name": "No Phone" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("phone"), "{body}");
    // A phone that is not one: 422 on field phone.
    let (status, body) = a.client.post("/api/contacts", json!({ "name": "X", "phone": "call me maybe" })).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "phone");
    // A wrong type: 422.
    assert_eq!(a.client.post("/api/contacts", json!({ "name": 5, "phone": "+14155550100" })).await.0, 422);
    // An unknown enum value: 422.
    assert_eq!(a.client.get("/api/threads?status=exploded").await.0, 422);
    // Too big: 413.
    let huge = format!("{{\"name\": \"{}\", \"phone\": \"+14155550100\"}}", "x".repeat(200_000));
    let (status, body) = a.client.post_raw("/api/contacts", "application/json", huge).await;
    assert_eq!(status, 413, "{body}");
    // Not JSON at all: 415.
    assert_eq!(a.client.post_raw("/api/contacts", "text/plain", "hello").await.0, 415);
    // Ids that cannot exist: 404, not 400 or 500.
    assert_eq!(a.client.get("/api/threads/not-a-uuid").await.0, 404);
    assert_eq!(a.client.get("/api/contacts/00000000-0000-0000-0000-000000000000").await.0, 404);
    // Short password, bad email at sign-up.
    let (status, body) =
        server.client().post("/api/auth/sign-up", json!({ "email": "x@y.test", "password": "short", "name": "X", "team_name": "T" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("password")));
    let (status, body) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "nope", "password": "long enough pw", "name": "X", "team_name": "T" }))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("email")));
    // Unauthenticated API calls: 401 JSON.
    let (status, body) = server.client().get("/api/threads").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    // The server is still fine.
    assert_eq!(server.client().get("/healthz").await.0, 200);
    server.stop().await;
}

#[sqlx::test]
async fn ops_endpoints(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let (status, ready) = server.client().get("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(ready["checks"]["postgres"], "ok");
    let res = reqwest::get(format!("{}/healthz", server.base)).await.unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    server.stop().await;
}

#[sqlx::test]
async fn pages_redirect_strangers_and_keep_settings_for_admins(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/settings", "/threads/00000000-0000-0000-0000-000000000000"] {
        let res = no_redirect.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/sign-in");
    }
    let res = no_redirect.get(format!("{}/sign-in", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let admin = server.admin("Ana").await;
    let agent = server.agent(&admin, "Ben").await;
    let page = admin.client.http.get(format!("{}/settings", server.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = agent.client.http.get(format!("{}/settings", server.base)).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let inbox = agent.client.http.get(format!("{}/", server.base)).send().await.unwrap();
    let csp = inbox.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(inbox.text().await.unwrap().contains("id=\"boot\""));
    server.stop().await;
}

#[sqlx::test]
async fn dashboard_summary_and_csv_export(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Ana").await;
    // A contact writes in (with a formula for a body), the team answers.
    let (status, _) =
        a.client.post("/api/simulator/inbound", json!({ "from": "+14155550210", "channel": "sms", "body": "=HYPERLINK(\"evil\")" })).await;
    assert_eq!(status, 202);
    let (_, threads) = a.client.get("/api/threads").await;
    let thread = threads["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(a.client.post("/api/messages", json!({ "thread_id": thread, "body": "hello!" })).await.0, 201);

    let (status, s) = a.client.get("/api/analytics/summary").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["threads"]["open"], 1);
    assert_eq!(s["threads"]["unread"], 1);
    assert_eq!(s["messages_24h"]["inbound"], 1);
    assert_eq!(s["messages_24h"]["outbound"], 1);
    assert!(s["first_response_7d"]["median_seconds"].as_f64().unwrap() >= 0.0);

    let res = a.client.http.get(format!("{}/api/analytics/export.csv", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("created_at,thread_id"));
    assert!(csv.contains("'=HYPERLINK"), "formulas are defused: {csv}");
    // Another team's export is empty.
    let b = server.admin("Bea").await;
    let other = b.client.http.get(format!("{}/api/analytics/export.csv", server.base)).send().await.unwrap().text().await.unwrap();
    assert_eq!(other.lines().count(), 1);
    server.stop().await;
}
