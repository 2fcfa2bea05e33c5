//! What the contacts page and "New conversation" need from the edge: the page routes (and their
//! boot data), the team's numbers for every member (without the Twilio account), a chosen
//! sending number (the team's own, of the right kind), and one contact's threads.

use crate::support::*;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

/// The boot data rendered into an app page.
fn boot(reply: &Reply) -> Value {
    let html = reply.body.as_str().expect("an HTML page");
    let start = html.find(r#"id="boot">"#).expect("boot data") + r#"id="boot">"#.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("JSON boot data")
}

#[tokio::test]
async fn the_contacts_page_opens_a_contact_from_its_url() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.session;
    let page = app.get("/contacts", agent).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.as_str().unwrap().contains(r#"data-page="contacts""#));
    assert_eq!(boot(&page)["contact_id"], Value::Null);

    let id = actors::ids::ContactId::new();
    let one = app.get(&format!("/contacts/{id}"), agent).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(boot(&one)["contact_id"], id.to_string());
    // A malformed id opens the list alone; nothing of it reaches the page.
    let odd = app.get("/contacts/%3Cscript%3E", agent).await;
    assert_eq!(odd.status, StatusCode::OK);
    assert_eq!(boot(&odd)["contact_id"], Value::Null);

    // Signed out: to the sign-in page.
    let out = app.get("/contacts", &Auth::None).await;
    assert!(out.status.is_redirection(), "{out:?}");
    assert_eq!(out.headers[header::LOCATION], "/sign-in");
}

#[tokio::test]
async fn every_member_sees_the_teams_numbers_but_not_its_twilio_account() {
    let app = App::start(|_| {}).await;
    let numbers = app.get("/api/numbers", &app.acme.agent.token).await;
    assert_eq!(numbers.status, StatusCode::OK, "{numbers:?}");
    let list = numbers.body["numbers"].as_array().expect("numbers");
    let kinds: Vec<&str> = list.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"sms") && kinds.contains(&"whatsapp"), "{kinds:?}");
    for n in list {
        let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(n.get("account_sid").is_none() && n.get("auth_token").is_none());
    }
    // Each team its own.
    let theirs = app.get("/api/numbers", &app.globex.agent.token).await;
    let ids = |v: &Value| v["numbers"].as_array().unwrap().iter().map(|n| n["id"].clone()).collect::<Vec<_>>();
    assert!(ids(&theirs.body).iter().all(|id| !ids(&numbers.body).contains(id)));
    app.get("/api/numbers", &Auth::None).await.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

/// Acme's number of `kind`, and the contact of Acme's thread.
async fn acme(app: &App, kind: &str) -> (Value, Value) {
    let numbers = app.get("/api/numbers", &app.acme.agent.token).await;
    let number = numbers.body["numbers"].as_array().unwrap().iter().find(|n| n["kind"] == kind).expect("a number").clone();
    let thread = app.get(&format!("/api/threads/{}", app.acme.thread), &app.acme.agent.token).await;
    (number["id"].clone(), thread.body["thread"]["contact"]["id"].clone())
}

#[tokio::test]
async fn a_new_conversation_is_sent_from_the_chosen_number_of_the_team() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let (whatsapp, contact) = acme(&app, "whatsapp").await;

    let opened = app
        .json(
            Method::POST,
            "/api/threads/for-contact",
            agent,
            json!({ "contact_id": contact, "channel": "whatsapp", "channel_id": whatsapp }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{opened:?}");
    assert_eq!(opened.body["channel"]["id"], whatsapp);
    // A free-form WhatsApp message needs the contact's 24-hour window open: they write first.
    let free_form = json!({ "contact_id": contact, "channel": "whatsapp", "channel_id": whatsapp, "body": "hi" });
    let refused = app.json(Method::POST, "/api/messages", agent, free_form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{refused:?}");
    assert_eq!(refused.body["error"]["code"], "window_closed");
    let inbound = actors::threads::InboundMessage {
        team: app.acme.id,
        channel: serde_json::from_value(whatsapp.clone()).unwrap(),
        kind: actors::domain::ChannelKind::Whatsapp,
        from: opened.body["contact"]["phone"].as_str().unwrap().to_owned(),
        profile_name: None,
        message_sid: "SMwindow".into(),
        body: "hello".into(),
        media: vec![],
        raw: json!({}),
        opt_out_type: None,
    };
    app.core.threads.inbound(inbound).await.expect("the contact writes");
    let sent = app
        .json(
            Method::POST,
            "/api/messages",
            agent,
            json!({ "contact_id": contact, "channel": "whatsapp", "channel_id": whatsapp, "body": "hi" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    assert_eq!(sent.body["thread_id"], opened.body["id"]);

    // A number of another kind, or of another team, is refused by name.
    let wrong_kind = json!({ "contact_id": contact, "channel": "sms", "channel_id": whatsapp, "body": "hi" });
    app.json(Method::POST, "/api/messages", agent, wrong_kind).await.invalid("channel_id");
    let numbers = app.get("/api/numbers", &app.globex.agent.token).await;
    let foreign = numbers.body["numbers"].as_array().unwrap().iter().find(|n| n["kind"] == "sms").unwrap()["id"].clone();
    let theirs = json!({ "contact_id": contact, "channel": "sms", "channel_id": foreign });
    app.json(Method::POST, "/api/threads/for-contact", agent, theirs).await.invalid("channel_id");
}

#[tokio::test]
async fn the_threads_of_one_contact() {
    let app = App::start(|_| {}).await;
    let agent = &app.acme.agent.token;
    let (_, contact) = acme(&app, "sms").await;
    app.json(Method::POST, "/api/threads/for-contact", agent, json!({ "contact_id": contact, "channel": "whatsapp" })).await;

    let mine = app.get(&format!("/api/threads?contact_id={}", contact.as_str().unwrap()), agent).await;
    assert_eq!(mine.status, StatusCode::OK, "{mine:?}");
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "SMS and WhatsApp");
    assert!(items.iter().all(|t| t["contact"]["id"] == contact));
    // Another team asking for it gets nothing; a malformed id is a 422 like any bad query value.
    let theirs = app.get(&format!("/api/threads?contact_id={}", contact.as_str().unwrap()), &app.globex.agent.token).await;
    assert_eq!(theirs.body["items"], json!([]));
    app.get("/api/threads?contact_id=nope", agent).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}
