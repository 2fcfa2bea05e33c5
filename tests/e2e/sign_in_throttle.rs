//! Guessing one account's password is throttled per account (not only per address): after five
//! failures the account is held back with an exponential back-off, the same for an email with no
//! account; the real user's own device, known from an earlier sign-in, is never locked out.

use crate::support::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

#[sqlx::test]
async fn failed_sign_ins_hold_an_account_back_but_not_its_known_device(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let email = format!("ana@{}.test", uuid_short());
    let (status, _) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": email, "password": "correct horse battery", "name": "Ana", "team_name": "Acme" }))
        .await;
    assert_eq!(status, 201);
    // Ana's laptop signs in once: it is a known device from now on.
    let laptop = server.client();
    assert_eq!(laptop.post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await.0, 200);

    // A stranger guesses, from fresh clients: five failures are answered 401 ...
    for _ in 0..5 {
        let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "not the password" })).await;
        assert_eq!(status, 401);
    }
    // ... then the account is held back: even the right password from a new device waits.
    let res = server
        .client()
        .http
        .post(format!("{}/api/auth/sign-in", server.base))
        .json(&json!({ "email": email, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "the first back-off is a second: {wait}");

    // Ana's own laptop is not locked out by the stranger.
    let (status, body) = laptop.post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await;
    assert_eq!(status, 200, "the known device signs in: {body}");

    // An email with no account is throttled the same way (no telling which emails exist).
    let nobody = format!("nobody@{}.test", uuid_short());
    for _ in 0..5 {
        assert_eq!(server.client().post("/api/auth/sign-in", json!({ "email": nobody, "password": "whatever it is" })).await.0, 401);
    }
    assert_eq!(server.client().post("/api/auth/sign-in", json!({ "email": nobody, "password": "whatever it is" })).await.0, 429);

    // The back-off ends: after it, the right password works from anywhere and clears the count.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await;
    assert_eq!(status, 200);
    server.stop().await;
}
