//! Passwords end to end, with a real SMTP sink started by the test: a sign-up confirmed by its
//! mailed link (and one for a taken address telling its owner, answering the same), a reset
//! link mailed and used (sessions end, sockets close, the sign-in hold lifts, the link works
//! once), a password change signing out the other sessions, and the link an admin makes when
//! no mail is sent.

use crate::support::smtp_sink::{SmtpSink, SunkMail};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";
const MAIL_WAIT: Duration = Duration::from_secs(5);

async fn with_smtp(opts: &sqlx::postgres::PgConnectOptions, sink: &SmtpSink) -> TestServer {
    let url = sink.url();
    TestServer::start_with(opts, move |c| c.smtp_url = Some(url.into())).await
}

/// The token in a mailed link's fragment.
fn token(mail: &SunkMail, path: &str) -> String {
    let link = mail.link(path).unwrap_or_else(|| panic!("a {path} link in {}", mail.body()));
    link.split_once("#token=").expect("the token is in the fragment").1.to_owned()
}

fn actions(audit: &Value) -> Vec<String> {
    audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

/// Signs up through the mailed confirmation link; answers the signed-in admin and their email.
async fn confirmed_admin(server: &TestServer, sink: &mut SmtpSink, name: &str) -> (Agent, String) {
    let email = format!("{}@{}.test", name.to_lowercase(), uuid_short());
    let client = server.client();
    let req = json!({ "email": email, "password": PASSWORD, "name": name, "team_name": format!("{name}'s team") });
    let (status, body) = client.post("/api/auth/sign-up", req).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "confirm_email");
    assert_eq!(client.get("/api/me").await.0, 401, "no session before the address is confirmed");
    let mail = sink.next(MAIL_WAIT).await.expect("the confirmation mail");
    assert_eq!(mail.to, vec![email.clone()]);
    let (status, body) = client.post("/api/auth/sign-up/confirm", json!({ "token": token(&mail, "/sign-up/confirm") })).await;
    assert_eq!(status, 201, "{body}");
    let (status, again) = server.client().post("/api/auth/sign-up/confirm", json!({ "token": token(&mail, "/sign-up/confirm") })).await;
    assert_eq!(status, 422, "the link works once: {again}");
    let agent = Agent {
        client,
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        team_id: body["team"]["id"].as_str().unwrap().to_owned(),
        name: name.to_owned(),
    };
    (agent, email)
}

#[sqlx::test]
async fn sign_up_with_mail_reveals_nothing_and_tells_the_owner(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let mut sink = SmtpSink::start().await;
    let server = with_smtp(&opts, &sink).await;
    let (_ana, email) = confirmed_admin(&server, &mut sink, "Ana").await;

    // Someone signs up with Ana's address: the very same answer as for a new address...
    let client = server.client();
    let req = json!({ "email": email, "password": "another good passphrase", "name": "Mallory", "team_name": "Evil" });
    let (status, body) = client.post("/api/auth/sign-up", req).await;
    assert_eq!(status, 202, "{body}");
    let (_, fresh) = server
        .client()
        .post("/api/auth/sign-up", json!({ "email": "new@x.test", "password": PASSWORD, "name": "New", "team_name": "New" }))
        .await;
    assert_eq!(body, fresh, "a taken address answers like a new one");
    // ...and Ana hears of it; the new address gets its confirmation link.
    let mut mails = [sink.next(MAIL_WAIT).await.expect("a mail"), sink.next(MAIL_WAIT).await.expect("a mail")];
    mails.sort_by_key(|m| m.to.clone());
    let warned = mails.iter().find(|m| m.to == vec![email.clone()]).expect("the owner is told");
    assert!(warned.header("Subject").unwrap().contains("tried to sign up"), "{}", warned.data);
    assert!(warned.link("/forgot-password").is_some());
    assert!(mails.iter().any(|m| m.to == vec!["new@x.test".to_owned()] && m.link("/sign-up/confirm").is_some()));
    // Nobody got a session, and Ana's password is still hers.
    assert_eq!(client.get("/api/me").await.0, 401);
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, 200);
}

#[sqlx::test]
async fn reset_email_arrives_at_the_sink_and_resets(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let mut sink = SmtpSink::start().await;
    let server = with_smtp(&opts, &sink).await;
    let (ana, email) = confirmed_admin(&server, &mut sink, "Ana").await;
    let mut ws = ana.socket(&server).await;
    ws.subscribe(&format!("private-user-{}", ana.id)).await;

    // A stranger guessing holds the account back...
    for _ in 0..7 {
        server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "wrong guess here" })).await;
    }
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, 429, "held back from a new device");

    // Forgot: the same answer for any address; a mail only for the account.
    let (status, body) = server.client().post("/api/auth/password/forgot", json!({ "email": "nobody@x.test" })).await;
    assert_eq!(status, 202, "{body}");
    let (status, known) = server.client().post("/api/auth/password/forgot", json!({ "email": email.to_uppercase() })).await;
    assert_eq!((status, &known), (202, &body));
    let mail = sink.next(MAIL_WAIT).await.expect("the reset mail");
    assert_eq!(mail.to, vec![email.clone()]);
    assert!(mail.header("Subject").unwrap().contains("Reset"));
    sink.expect_none(Duration::from_millis(300)).await;
    let link = mail.link("/reset-password").unwrap();
    assert!(link.starts_with(&server.base), "{link}");
    let token = token(&mail, "/reset-password");

    let client = server.client();
    let (status, check) = client.post("/api/auth/password/reset/check", json!({ "token": token })).await;
    assert_eq!((status, check["email"].as_str()), (200, Some(email.as_str())));
    let (status, body) = client.post("/api/auth/password/reset", json!({ "token": token, "password": "12345678910" })).await;
    assert_eq!(status, 422, "the policy holds: {body}");
    let (status, body) = client.post("/api/auth/password/reset", json!({ "token": token, "password": "a brand new passphrase" })).await;
    assert_eq!(status, 204, "{body}");

    // Every session ended, its socket closed; the hold is lifted; the old password is gone.
    assert_eq!(ws.closed(Duration::from_secs(1)).await, Some(4009));
    assert_eq!(ana.client.get("/api/me").await.0, 401);
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, 401);
    let fresh = server.client();
    let (status, body) = fresh.post("/api/auth/sign-in", json!({ "email": email, "password": "a brand new passphrase" })).await;
    assert_eq!(status, 200, "{body}");
    // The link worked once; the owner was told of the change.
    let (status, _) = client.post("/api/auth/password/reset", json!({ "token": token, "password": "yet another passphrase" })).await;
    assert_eq!(status, 422);
    let notice = sink.next(MAIL_WAIT).await.expect("the change notice");
    assert!(notice.header("Subject").unwrap().contains("changed"));
    let (_, audit) = fresh.get("/api/audit").await;
    let actions = actions(&audit);
    assert!(actions.contains(&"password.reset_requested".to_owned()) && actions.contains(&"password.reset".to_owned()), "{actions:?}");

    // Asking again and again mails at most three links an hour (the answer never changes).
    for _ in 0..4 {
        let (status, _) = server.client().post("/api/auth/password/forgot", json!({ "email": email })).await;
        assert_eq!(status, 202);
    }
    for _ in 0..2 {
        assert!(sink.next(MAIL_WAIT).await.is_some());
    }
    sink.expect_none(Duration::from_millis(500)).await;
}

#[sqlx::test]
async fn changing_the_password_signs_out_the_other_sessions(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let (_, me) = ana.client.get("/api/me").await;
    let email = me["user"]["email"].as_str().unwrap().to_owned();
    let laptop = server.client();
    assert_eq!(laptop.post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await.0, 200);
    let mut laptop_ws = Ws::connect(&server, laptop.clone()).await;
    laptop_ws.subscribe(&format!("private-user-{}", ana.id)).await;
    let mut here_ws = ana.socket(&server).await;
    here_ws.subscribe(&format!("private-user-{}", ana.id)).await;

    let change = |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let (status, body) = ana.client.post("/api/auth/password", change("not my password", "a brand new passphrase")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "current_password");
    let (status, body) = ana.client.post("/api/auth/password", change(PASSWORD, "password1234")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "new_password");
    let (status, body) = ana.client.post("/api/auth/password", change(PASSWORD, "a brand new passphrase")).await;
    assert_eq!(status, 204, "{body}");

    // This session goes on; the laptop's ended and its socket closed.
    assert_eq!(ana.client.get("/api/me").await.0, 200);
    assert_eq!(laptop.get("/api/me").await.0, 401);
    assert_eq!(laptop_ws.closed(Duration::from_secs(1)).await, Some(4009));
    here_ws.expect_none("pusher:error", Duration::from_millis(300)).await;
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, 401);
    let (status, _) = server.client().post("/api/auth/sign-in", json!({ "email": email, "password": "a brand new passphrase" })).await;
    assert_eq!(status, 200);
    let (_, audit) = ana.client.get("/api/audit").await;
    assert!(actions(&audit).contains(&"password.changed".to_owned()));
}

#[sqlx::test]
async fn without_smtp_an_admin_hands_over_a_reset_link(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let ben = server.agent(&ana, "Ben").await;
    let other = server.admin("Olga").await;

    // Forgot still answers the same (the link goes to the server log).
    let (status, _) = server.client().post("/api/auth/password/forgot", json!({ "email": "ben@x.test" })).await;
    assert_eq!(status, 202);
    let path = |id: &str| format!("/api/team/members/{id}/password-reset");
    assert_eq!(ben.client.post(&path(&ana.id), json!({})).await.0, 403, "agents make no links");
    assert_eq!(other.client.post(&path(&ben.id), json!({})).await.0, 404, "not across teams");
    let (status, made) = ana.client.post(&path(&ben.id), json!({})).await;
    assert_eq!(status, 201, "{made}");
    let url = made["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/reset-password#token=", server.base)), "{url}");
    let token = url.split_once("#token=").unwrap().1;
    let (status, body) =
        server.client().post("/api/auth/password/reset", json!({ "token": token, "password": "bens own new passphrase" })).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(ben.client.get("/api/me").await.0, 401, "his sessions ended");
    let (_, audit) = ana.client.get("/api/audit").await;
    assert!(actions(&audit).contains(&"password.reset_link_created".to_owned()));
}
