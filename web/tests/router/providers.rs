//! `GET /api/auth/providers`: what the sign-in page offers besides a password. A configured OIDC
//! provider is named even while it cannot be reached (its routes answer 503 then, the page does
//! not break), and a provider that cannot be discovered is reported as unavailable, not a panic.

use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use web::oidc::{OidcProvider, OidcSettings};

fn settings(issuer: &str) -> OidcSettings {
    OidcSettings {
        issuer_url: issuer.into(),
        client_id: "switchboard".into(),
        client_secret: "secret".into(),
        display_name: "Google".into(),
        scopes: vec!["email".into(), "profile".into()],
        redirect_url: "http://127.0.0.1:8080/auth/oidc/callback".into(),
    }
}

#[tokio::test]
async fn without_oidc_only_passwords_are_offered() {
    let app = App::start(|_| {}).await;
    let reply = app.get("/api/auth/providers", &Auth::None).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, json!({ "oidc": null }));
}

#[tokio::test]
async fn a_configured_provider_is_named_even_while_unreachable() {
    // Nothing listens on port 9 of loopback: discovery fails at once.
    let provider = Arc::new(OidcProvider::new(settings("http://127.0.0.1:9")).expect("valid settings"));
    assert!(provider.client().await.is_err(), "an unreachable provider is unavailable");
    let app = App::start_with_oidc(|_| {}, Some(provider)).await;
    let reply = app.get("/api/auth/providers", &Auth::None).await;
    assert_eq!(reply.body, json!({ "oidc": { "name": "Google" } }));
}

#[test]
fn an_issuer_that_is_not_a_url_is_refused_at_start() {
    assert!(OidcProvider::new(settings("not a url")).is_err());
}

#[tokio::test]
async fn without_oidc_its_routes_do_not_exist() {
    let app = App::start(|_| {}).await;
    for uri in ["/auth/oidc/start", "/auth/oidc/start?invite=abc", "/auth/oidc/callback?code=c&state=s"] {
        let reply = app.get(uri, &Auth::None).await;
        assert_eq!(reply.status, axum::http::StatusCode::NOT_FOUND, "{uri}: {reply:?}");
    }
}

#[tokio::test]
async fn an_unreachable_provider_answers_a_503_page() {
    let provider = Arc::new(OidcProvider::new(settings("http://127.0.0.1:9")).expect("valid settings"));
    let app = App::start_with_oidc(|_| {}, Some(provider)).await;
    for uri in ["/auth/oidc/start", "/auth/oidc/callback?code=c&state=s"] {
        let reply = app.get(uri, &Auth::None).await;
        assert_eq!(reply.status, axum::http::StatusCode::SERVICE_UNAVAILABLE, "{uri}: {reply:?}");
        assert!(reply.headers.contains_key("retry-after"));
        assert!(reply.body.as_str().is_some_and(|b| b.contains("Google is unavailable")), "{reply:?}");
    }
}

#[tokio::test]
async fn identities_are_ones_own() {
    let app = App::start(|_| {}).await;
    assert_eq!(app.get("/api/auth/identities", &Auth::None).await.status, axum::http::StatusCode::UNAUTHORIZED);
    let reply = app.get("/api/auth/identities", &app.acme.agent.session).await;
    assert_eq!(reply.body, json!({ "items": [], "next_cursor": null }), "{reply:?}");
    let missing = format!("/api/auth/identities/{}", uuid::Uuid::now_v7());
    let reply = app.json(axum::http::Method::DELETE, &missing, &app.acme.agent.token, json!({})).await;
    assert_eq!(reply.status, axum::http::StatusCode::NOT_FOUND, "{reply:?}");
}
