//! Who may call what: no or bad credentials are 401, an agent on an admin route 403, another
//! team's thread 404 exactly like a missing one (and its channel not signed for).

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn requests_without_valid_credentials_are_401() {
    let app = App::start(|_| {}).await;
    for auth in [
        Auth::None,
        Auth::Bearer("sb_not-a-token".into()),
        Auth::Header("Basic YWRtaW46YWRtaW4="),
        Auth::Header("Bearer"),
        Auth::Session("not-a-session".into()),
    ] {
        app.get("/api/me", &auth).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
        let post = app.json(Method::POST, &format!("/api/threads/{}/notes", app.acme.thread), &auth, json!({ "body": "hi" })).await;
        post.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_eq!(app.store.calls("add_note"), 0);

    // The same requests with real credentials go through.
    for auth in [&app.acme.agent.session, &app.acme.agent.token] {
        let me = app.get("/api/me", auth).await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        assert_eq!(me.body["user"]["id"], app.acme.agent.user.id.to_string());
    }

    // A revoked session is no session.
    let Auth::Session(id) = &app.acme.agent.session else { unreachable!() };
    actors::ports::AccountWrites::revoke_session(&*app.store, &web::extract::hash_secret(id)).await.unwrap();
    app.get("/api/me", &app.acme.agent.session).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn an_agent_on_an_admin_route_is_403() {
    let app = App::start(|_| {}).await;
    let channel = json!({
        "kind": "sms",
        "number": "+14155550199",
        "account_sid": format!("AC{}", "a".repeat(32)),
        "auth_token": "0123456789abcdef0123",
    });
    let agent = &app.acme.agent.token;
    app.json(Method::POST, "/api/channels", agent, channel.clone()).await.error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/channels", agent).await.error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/settings", agent).await.error(StatusCode::FORBIDDEN, "forbidden");
    app.json(Method::POST, "/api/invites", agent, json!({ "role": "admin" })).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.store.calls("create_channel") + app.store.calls("create_invite"), 2, "only the fixture's invites");

    // The admin may.
    let created = app.json(Method::POST, "/api/channels", &app.acme.admin.token, channel).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["number"], "+14155550199");
    assert!(created.body.get("auth_token").is_none(), "the auth token is write-only");
}

#[tokio::test]
async fn another_teams_thread_is_404_like_a_missing_one() {
    let app = App::start(|_| {}).await;
    let intruder = &app.globex.admin.token;
    let foreign = app.acme.thread;
    let missing = actors::ids::ThreadId::new();

    for thread in [foreign.to_string(), missing.to_string(), "not-a-uuid".to_owned()] {
        let replies = [
            app.get(&format!("/api/threads/{thread}"), intruder).await,
            app.get(&format!("/api/threads/{thread}/events?after=0"), intruder).await,
            app.json(Method::POST, &format!("/api/threads/{thread}/notes"), intruder, json!({ "body": "peek" })).await,
            app.json(Method::POST, &format!("/api/threads/{thread}/read"), intruder, json!({})).await,
            app.json(Method::PATCH, &format!("/api/threads/{thread}"), intruder, json!({ "status": "resolved" })).await,
        ];
        for reply in replies {
            let error = reply.error(StatusCode::NOT_FOUND, "not_found");
            assert_eq!(error["message"], "thread not found", "never says whose it is");
        }
    }
    let send = app.json(Method::POST, "/api/messages", intruder, json!({ "thread_id": foreign, "body": "peek" })).await;
    assert_eq!(send.error(StatusCode::NOT_FOUND, "not_found")["message"], "thread not found");
    assert!(app.store.events(foreign).is_empty(), "nothing was written to the other team's thread");

    // Its own team sees it.
    let own = app.get(&format!("/api/threads/{foreign}"), &app.acme.agent.token).await;
    assert_eq!(own.status, StatusCode::OK, "{own:?}");
}

#[tokio::test]
async fn another_teams_thread_channel_is_not_signed() {
    let app = App::start(|_| {}).await;
    let form = |thread: actors::ids::ThreadId| format!("socket_id=1.1&channel_name=presence-thread-{thread}");
    let ct = Some("application/x-www-form-urlencoded");
    let other = app.raw(Method::POST, "/pusher/auth", &app.globex.agent.token, ct, &form(app.acme.thread)).await;
    other.error(StatusCode::FORBIDDEN, "forbidden");
    let missing = app.raw(Method::POST, "/pusher/auth", &app.globex.agent.token, ct, &form(actors::ids::ThreadId::new())).await;
    assert_eq!(missing.error(StatusCode::FORBIDDEN, "forbidden"), other.error(StatusCode::FORBIDDEN, "forbidden"), "the same refusal");

    let own = app.raw(Method::POST, "/pusher/auth", &app.acme.agent.token, ct, &form(app.acme.thread)).await;
    assert_eq!(own.status, StatusCode::OK, "{own:?}");
    assert!(own.body["auth"].as_str().is_some_and(|a| a.starts_with("test-key:")));
}

#[tokio::test]
async fn a_cross_site_request_with_the_session_cookie_is_403() {
    let app = App::start(|_| {}).await;
    let thread = app.acme.thread;
    let read = |auth: &Auth, origin: Option<&str>| {
        let mut req = request(Method::POST, &format!("/api/threads/{thread}/read"), auth, None);
        if let Some(origin) = origin {
            req.headers_mut().insert("origin", origin.parse().unwrap());
        }
        app.send(req)
    };
    // A page elsewhere posting with the agent's cookie (a body-less POST): refused, nothing done.
    read(&app.acme.agent.session, Some("https://evil.example")).await.error(StatusCode::FORBIDDEN, "forbidden");
    read(&app.acme.agent.session, Some("null")).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.store.calls("mark_read"), 0);
    // Our own page, a program without Origin, and a Bearer token from anywhere go through.
    let ours = app.origin();
    assert_eq!(read(&app.acme.agent.session, Some(&ours)).await.status, StatusCode::OK);
    assert_eq!(read(&app.acme.agent.session, None).await.status, StatusCode::OK);
    assert_eq!(read(&app.acme.agent.token, Some("https://evil.example")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_or_expired_token_is_401_at_once() {
    let app = App::start(|_| {}).await;
    let created = app.json(Method::POST, "/api/tokens", &app.acme.agent.session, json!({ "name": "script", "expires_in_days": 7 })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert!(created.body["expires_at"].is_string(), "{created:?}");
    let token = Auth::Bearer(created.body["token"].as_str().expect("the secret, once").to_owned());
    let id = created.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK);
    let listed = app.get("/api/tokens", &app.acme.agent.session).await;
    let item = listed.body["items"].as_array().expect("items").iter().find(|t| t["id"] == id.as_str()).expect("listed").clone();
    assert!(item["last_used_at"].is_string(), "stamped by its use: {item}");

    // Another team cannot revoke it; an agent may not list the team's.
    let foreign = app.send(request(Method::DELETE, &format!("/api/tokens/{id}"), &app.globex.admin.token, None)).await;
    assert_eq!(foreign.error(StatusCode::NOT_FOUND, "not_found")["message"], "token not found");
    app.get("/api/tokens?all=true", &app.acme.agent.token).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK);

    // Revoked: the very next request is refused.
    let revoked = app.send(request(Method::DELETE, &format!("/api/tokens/{id}"), &app.acme.agent.session, None)).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{revoked:?}");
    app.get("/api/me", &token).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let listed = app.get("/api/tokens?all=true", &app.acme.admin.session).await;
    assert!(listed.body["items"].as_array().expect("items").iter().all(|t| t["id"] != id.as_str()), "listed no more");

    // Expired: refused as well.
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let hash = web::extract::hash_secret("sb_expired");
    actors::ports::AccountWrites::create_token(
        &*app.store,
        &actors::audit::Actor::new(app.acme.agent.user.clone(), Default::default()),
        "old",
        &hash,
        Some(past),
    )
    .await
    .unwrap();
    app.get("/api/me", &Auth::Bearer("sb_expired".into())).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
}
