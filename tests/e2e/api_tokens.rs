//! API tokens end to end: created with or without an expiry, listed (one's own, or the whole
//! team's for admins) with a cursor, used (last use stamped), revoked or expired (401 at once),
//! and never reachable from another team.

use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `GET path` with a bearer token: the status.
async fn bearer_status(server: &TestServer, token: &str, path: &str) -> u16 {
    reqwest::Client::new().get(format!("{}{path}", server.base)).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// Creates a token; answers its body (with `token`, the secret).
async fn create(agent: &Agent, body: Value) -> Value {
    let (status, token) = agent.client.post("/api/tokens", body).await;
    assert_eq!(status, 201, "{token}");
    token
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect()
}

fn time(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

#[sqlx::test]
async fn tokens_are_listed_used_and_revoked_at_once(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let admin = server.admin("Ana").await;
    let agent = server.agent(&admin, "Ben").await;

    let script = create(&agent, json!({ "name": " script ", "expires_in_days": 30 })).await;
    assert_eq!(script["name"], "script");
    assert_eq!(script["user_id"], agent.id);
    assert!(script["last_used_at"].is_null());
    let in_30_days = time(&script["expires_at"]) - time::OffsetDateTime::now_utc();
    assert!(in_30_days > time::Duration::days(29) && in_30_days <= time::Duration::days(30), "{script}");
    let forever = create(&agent, json!({ "name": "forever" })).await;
    assert!(forever["expires_at"].is_null(), "{forever}");
    let admins = create(&admin, json!({ "name": "admin's" })).await;
    let (script_id, forever_id, admins_id) =
        (script["id"].as_str().unwrap(), forever["id"].as_str().unwrap(), admins["id"].as_str().unwrap());

    // One's own live tokens, newest first, without their secrets.
    let (status, own) = agent.client.get("/api/tokens").await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(ids(&own), vec![forever_id, script_id]);
    assert!(own["next_cursor"].is_null());
    let listed = &own["items"][1];
    for key in ["id", "name", "created_at", "last_used_at", "expires_at", "user_id", "user_name"] {
        assert!(listed.get(key).is_some(), "{key} in {listed}");
    }
    assert!(listed.get("token").is_none() && listed.get("token_hash").is_none(), "never the secret: {listed}");
    assert_eq!(listed["user_name"], "Ben");
    assert_eq!(listed["expires_at"], script["expires_at"]);
    assert_eq!(ids(&admin.client.get("/api/tokens").await.1), vec![admins_id], "an admin's own, without ?all");

    // Using a token stamps its last use.
    let secret = script["token"].as_str().unwrap();
    assert_eq!(bearer_status(&server, secret, "/api/me").await, 200);
    let (_, own) = agent.client.get("/api/tokens").await;
    let used = &own["items"][1];
    assert!(used["last_used_at"].is_string(), "{used}");
    assert!(own["items"][0]["last_used_at"].is_null(), "only the token that was used");

    // The whole team's: admins only.
    let (status, body) = agent.client.get("/api/tokens?all=true").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, all) = admin.client.get("/api/tokens?all=true").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(ids(&all), vec![admins_id, forever_id, script_id]);
    assert_eq!(all["items"][1]["user_name"], "Ben");

    // Revoking one's own: 204, and the token is refused at once and listed no more.
    let forever_secret = forever["token"].as_str().unwrap();
    assert_eq!(bearer_status(&server, forever_secret, "/api/me").await, 200);
    assert_eq!(agent.client.delete(&format!("/api/tokens/{forever_id}")).await.0, 204);
    assert_eq!(bearer_status(&server, forever_secret, "/api/me").await, 401);
    assert_eq!(ids(&agent.client.get("/api/tokens").await.1), vec![script_id]);
    assert_eq!(agent.client.delete(&format!("/api/tokens/{forever_id}")).await.0, 404, "revoked already");

    // An agent cannot revoke a teammate's token; an admin can.
    assert_eq!(agent.client.delete(&format!("/api/tokens/{admins_id}")).await.0, 404);
    assert_eq!(bearer_status(&server, admins["token"].as_str().unwrap(), "/api/me").await, 200);
    assert_eq!(admin.client.delete(&format!("/api/tokens/{script_id}")).await.0, 204);
    assert_eq!(bearer_status(&server, secret, "/api/me").await, 401);
    assert_eq!(bearer_status(&server, secret, "/api/tokens").await, 401);

    // A token may revoke itself.
    let self_revoking = create(&agent, json!({ "name": "once" })).await;
    let res = reqwest::Client::new()
        .delete(format!("{}/api/tokens/{}", server.base, self_revoking["id"].as_str().unwrap()))
        .bearer_auth(self_revoking["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(bearer_status(&server, self_revoking["token"].as_str().unwrap(), "/api/me").await, 401);

    // Every creation and revocation is in the audit log, by whom.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let audit: Vec<(String, uuid::Uuid)> =
        sqlx::query_as("SELECT action, actor_id FROM audit_log WHERE action LIKE 'token.%' ORDER BY id").fetch_all(&db).await.unwrap();
    let (ana, ben): (uuid::Uuid, uuid::Uuid) = (admin.id.parse().unwrap(), agent.id.parse().unwrap());
    let expected: Vec<(String, uuid::Uuid)> = [
        ("token.created", ben),
        ("token.created", ben),
        ("token.created", ana),
        ("token.revoked", ben),
        ("token.revoked", ana),
        ("token.created", ben),
        ("token.revoked", ben),
    ]
    .into_iter()
    .map(|(a, u)| (a.to_owned(), u))
    .collect();
    assert_eq!(audit, expected);
    server.stop().await;
}

#[sqlx::test]
async fn an_expired_token_is_refused_and_expiries_are_checked(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let token = create(&ana, json!({ "name": "short", "expires_in_days": 1 })).await;
    let secret = token["token"].as_str().unwrap();
    assert_eq!(bearer_status(&server, secret, "/api/me").await, 200);

    // Its time passes: refused at once, and no longer listed.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let id: uuid::Uuid = token["id"].as_str().unwrap().parse().unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1").bind(id).execute(&db).await.unwrap();
    assert_eq!(bearer_status(&server, secret, "/api/me").await, 401);
    assert!(ids(&ana.client.get("/api/tokens?all=true").await.1).is_empty());

    // An instant instead of days.
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(7)).replace_nanosecond(0).unwrap();
    let at_text = at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let dated = create(&ana, json!({ "name": "dated", "expires_at": at_text })).await;
    assert_eq!(time(&dated["expires_at"]), at);

    // Out of range, in the past, both, or not a time: 422 naming the field.
    for (body, field) in [
        (json!({ "name": "x", "expires_in_days": 0 }), "expires_in_days"),
        (json!({ "name": "x", "expires_in_days": 3651 }), "expires_in_days"),
        (json!({ "name": "x", "expires_at": "2001-01-01T00:00:00Z" }), "expires_at"),
        (json!({ "name": "x", "expires_in_days": 1, "expires_at": at_text }), "expires_at"),
        (json!({ "name": "", "expires_in_days": 1 }), "name"),
    ] {
        let (status, error) = ana.client.post("/api/tokens", body.clone()).await;
        assert_eq!((status, error["error"]["field"].as_str()), (422, Some(field)), "{body}: {error}");
    }
    assert_eq!(ana.client.post("/api/tokens", json!({ "name": "x", "expires_at": "next tuesday" })).await.0, 422);
    assert_eq!(ana.client.post("/api/tokens", json!({ "name": "x", "expires_in_days": 3650 })).await.0, 201);
    server.stop().await;
}

#[sqlx::test]
async fn another_teams_token_is_404_like_a_missing_one(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let bea = server.admin("Bea").await;
    let token = create(&ana, json!({ "name": "ana's" })).await;
    let id = token["id"].as_str().unwrap();

    for path in [format!("/api/tokens/{id}"), format!("/api/tokens/{}", uuid::Uuid::new_v4()), "/api/tokens/not-a-uuid".into()] {
        let (status, body) = bea.client.delete(&path).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {body}");
        assert_eq!(body["error"]["message"], "token not found", "never says whose it is");
    }
    assert!(ids(&bea.client.get("/api/tokens?all=true").await.1).is_empty(), "nor lists it");
    assert_eq!(bearer_status(&server, token["token"].as_str().unwrap(), "/api/me").await, 200, "still Ana's, still live");
    assert_eq!(ids(&ana.client.get("/api/tokens").await.1), vec![id]);
    server.stop().await;
}

#[sqlx::test]
async fn token_listings_page_with_a_cursor(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let mut made = vec![];
    for i in 0..5 {
        let who = if i % 2 == 0 { &ana } else { &ben };
        made.push(create(who, json!({ "name": format!("t{i}") })).await["id"].as_str().unwrap().to_owned());
    }
    made.reverse();

    let walk = |client: Client, query: &'static str| async move {
        let mut seen: Vec<String> = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/tokens?limit=2&{query}cursor={c}"),
                None => format!("/api/tokens?limit=2&{query}"),
            };
            let (status, page) = client.get(&path).await;
            assert_eq!(status, 200, "{page}");
            assert!(page["items"].as_array().unwrap().len() <= 2);
            seen.extend(ids(&page).into_iter().map(str::to_owned));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return seen,
            }
        }
    };
    assert_eq!(walk(ana.client.clone(), "all=true&").await, made, "the team's, newest first, each once");
    let anas: Vec<String> = made.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, id)| id.clone()).collect();
    assert_eq!(walk(ana.client.clone(), "").await, anas, "her own");
    assert_eq!(ana.client.get("/api/tokens?cursor=garbage").await.0, 422);
    server.stop().await;
}
