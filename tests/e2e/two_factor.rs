//! TOTP enrolment and sign-in: codes computed with totp-rs from the secret the server gave.
//! Enrol, sign in with a code (never the same code twice), wrong codes refused and throttled,
//! recovery codes once each, turning off needs the password, the team's requirement, audit.

use crate::support::*;
use serde_json::{Value, json};

/// The code `steps` time steps from now (one step of skew either way is accepted).
fn code(secret: &str, steps: i64) -> String {
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build_noncompliant();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + steps * 30) as u64).to_string()
}

/// Signs up an admin and turns two-factor on; answers the admin, their email, secret and
/// recovery codes.
async fn enrolled(server: &TestServer) -> (Agent, String, String, Vec<String>) {
    let admin = server.admin("Ana").await;
    let (_, me) = admin.client.get("/api/me").await;
    assert_eq!(me["two_factor"], json!({ "enabled": false, "required": false }));
    let email = me["user"]["email"].as_str().unwrap().to_owned();
    let (status, setup) = admin.client.post("/api/auth/two-factor/setup", json!({})).await;
    assert_eq!(status, 200, "{setup}");
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(setup["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Switchboard:"));
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let (status, body) = admin.client.post("/api/auth/two-factor/confirm", json!({ "code": "000000" })).await;
    assert_eq!(status, 422, "a wrong code does not confirm: {body}");
    let (status, body) = admin.client.post("/api/auth/two-factor/confirm", json!({ "code": code(&secret, -1) })).await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let (_, me) = admin.client.get("/api/me").await;
    assert_eq!(me["two_factor"]["enabled"], true);
    (admin, email, secret, codes)
}

async fn challenge(server: &TestServer, email: &str) -> (Client, String) {
    let client = server.client();
    let (status, body) = client.post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["two_factor_required"], true, "{body}");
    assert_eq!(client.get("/api/me").await.0, 401, "no session before the code");
    (client, body["challenge"].as_str().unwrap().to_owned())
}

fn actions(audit: &Value) -> Vec<String> {
    audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test]
async fn totp_enrolment_and_sign_in(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let (admin, email, secret, codes) = enrolled(&server).await;

    // Password, then a code: signed in.
    let (client, ch) = challenge(&server, &email).await;
    let used = code(&secret, 0);
    let (status, body) = client.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "code": used })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(client.get("/api/me").await.0, 200);
    assert_eq!(
        client.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "code": code(&secret, 1) })).await.0,
        401,
        "single use"
    );

    // The same code again is refused (replay), on a fresh challenge.
    let (other, ch) = challenge(&server, &email).await;
    assert_eq!(other.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "code": used })).await.0, 401);
    // A recovery code works once.
    let (status, body) =
        other.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "recovery_code": codes[0].to_uppercase() })).await;
    assert_eq!(status, 200, "{body}");
    let (third, ch) = challenge(&server, &email).await;
    assert_eq!(third.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "recovery_code": codes[0] })).await.0, 401);

    // Turning off needs the password.
    let disable = |password: &'static str| {
        admin.client.http.delete(format!("{}/api/auth/two-factor", server.base)).json(&json!({ "password": password })).send()
    };
    assert_eq!(disable("wrong one").await.unwrap().status(), 422);
    assert_eq!(disable("correct horse battery").await.unwrap().status(), 204);
    let (status, body) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await;
    assert_eq!((status, body.get("two_factor_required").is_none()), (200, true), "a plain sign-in again: {body}");

    let (_, audit) = admin.client.get("/api/audit").await;
    let actions = actions(&audit);
    for action in ["two_factor.enabled", "two_factor.recovery_code_used", "two_factor.disabled", "sign_in.failed"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    let items = audit["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["action"] == "sign_in.succeeded" && e["details"]["two_factor"] == "totp"));
    assert!(items.iter().any(|e| e["action"] == "sign_in.succeeded" && e["details"]["two_factor"] == "recovery_code"));
    assert!(items.iter().any(|e| e["action"] == "sign_in.failed" && e["details"]["reason"] == "two_factor"));
    server.stop().await;
}

#[sqlx::test]
async fn wrong_codes_are_refused_and_throttled(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let (_admin, email, secret, _) = enrolled(&server).await;
    let (client, ch) = challenge(&server, &email).await;
    for _ in 0..5 {
        assert_eq!(client.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "code": "000000" })).await.0, 401);
    }
    // Five tries spent the challenge; the account is held back like after wrong passwords.
    assert_eq!(client.post("/api/auth/sign-in/two-factor", json!({ "challenge": ch, "code": code(&secret, 0) })).await.0, 401);
    assert_eq!(server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "correct horse battery" })).await.0, 429);
    server.stop().await;
}

#[sqlx::test]
async fn a_team_that_requires_two_factor_holds_back_sessions_until_they_enrol(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let agent_admin = server.admin("Ana").await;
    let ben = server.agent(&agent_admin, "Ben").await;
    let (status, token) = ben.client.post("/api/tokens", json!({ "name": "script" })).await;
    assert_eq!(status, 201);
    let token = token["token"].as_str().unwrap().to_owned();

    // An admin without two-factor cannot require it (it would hold back their own session).
    let require = |c: &Client, on: bool| c.http.put(format!("{}/api/team/two-factor", server.base)).json(&json!({ "required": on })).send();
    assert_eq!(require(&agent_admin.client, true).await.unwrap().status().as_u16(), 409);
    let (status, setup) = agent_admin.client.post("/api/auth/two-factor/setup", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) =
        agent_admin.client.post("/api/auth/two-factor/confirm", json!({ "code": code(setup["secret"].as_str().unwrap(), 0) })).await;
    assert_eq!(status, 200);
    assert_eq!(require(&agent_admin.client, true).await.unwrap().status().as_u16(), 200);
    assert_eq!(require(&ben.client, false).await.unwrap().status().as_u16(), 403, "agents do not decide");

    // Ben's session reaches /api/me and enrolment only; the app's pages send him to /security;
    // his API token is not held back.
    let (status, me) = ben.client.get("/api/me").await;
    assert_eq!((status, me["two_factor"].clone()), (200, json!({ "enabled": false, "required": true })));
    let (status, body) = ben.client.get("/api/threads").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "two_factor_enrollment_required");
    let page = ben.client.http.get(format!("{}/", server.base)).send().await.unwrap();
    assert_eq!((page.status().as_u16(), page.url().path()), (200, "/security"), "the inbox sends him to enrol");
    let by_token = reqwest::Client::new().get(format!("{}/api/threads", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(by_token.status().as_u16(), 200, "API tokens are not held back");

    // Enrolled, his session works again; and it cannot be turned off while required.
    let (_, setup) = ben.client.post("/api/auth/two-factor/setup", json!({})).await;
    let (status, _) = ben.client.post("/api/auth/two-factor/confirm", json!({ "code": code(setup["secret"].as_str().unwrap(), 0) })).await;
    assert_eq!(status, 200);
    assert_eq!(ben.client.get("/api/threads").await.0, 200);
    let off =
        ben.client.http.delete(format!("{}/api/auth/two-factor", server.base)).json(&json!({ "password": "correct horse battery" })).send();
    assert_eq!(off.await.unwrap().status().as_u16(), 409, "not turned off while required");
}
