//! Twilio end to end: opt-out and the trial guard.

use super::*;

#[sqlx::test]
async fn stop_opts_a_contact_out_and_start_opts_them_back_in(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let phone = "+14155550123";
    let (contact, thread) = contact_thread(&a, "Carol", phone, "sms").await;
    let contact_path = format!("/api/contacts/{contact}");
    // Over the whole test exactly one message reaches Twilio: the one sent after START.
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;
    let inbound = |body: &str| inbound_params(&account, phone, &format!("SM{}", hex32()), body);
    let hook = "/webhooks/twilio/messages";

    // An ordinary message that merely contains the word does not opt out.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound("please don't stop the updates")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert_eq!(c["opted_out_at"], Value::Null);

    // Carol replies " stop " (any case, padded): she is opted out, and her message is kept.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound(" stop ")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert!(c["opted_out_at"].is_string(), "opted out: {c}");
    let (summary, messages) = thread_view(&a, &thread).await;
    assert!(summary["contact"]["opted_out_at"].is_string(), "{summary}");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["body"].as_str().unwrap().trim(), "stop");

    // Sending to her now is refused, by thread or by contact, and nothing reaches Twilio.
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "one more thing" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");
    let (status, err) = a.client.post("/api/messages", json!({ "contact_id": contact, "channel": "sms", "body": "one more thing" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.received_requests().await.is_empty(), "an opted-out contact was messaged");
    assert_eq!(thread_view(&a, &thread).await.1.len(), 2, "nothing is stored for a refused send");

    // START opts her back in, and a send goes out.
    assert_twiml(&post_signed(&server, hook, &account.token, &inbound("START")).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert_eq!(c["opted_out_at"], Value::Null, "opted back in: {c}");
    let msg = send(&a, &thread, "welcome back", &[]).await;
    wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    let requests = fake.received_requests().await;
    assert_eq!(requests.len(), 1);
    assert!(form_of(&requests[0]).contains(&("To".to_owned(), phone.to_owned())));

    // Twilio's own OptOutType parameter is honoured whatever the words.
    let polite = with(inbound("Please remove me from this list"), "OptOutType", "STOP");
    assert_twiml(&post_signed(&server, hook, &account.token, &polite).await);
    let (_, c) = a.client.get(&contact_path).await;
    assert!(c["opted_out_at"].is_string(), "OptOutType=STOP: {c}");
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "sorry to see you go" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "opted_out");

    drop(fake); // verifies: exactly one request
    server.stop().await;
}

#[sqlx::test]
async fn the_trial_guard_only_sends_to_verified_numbers(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.verified_numbers = Some(vec!["+14155550100".into()]);
    })
    .await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;

    // Another number is refused before anything is stored or sent.
    let (_, stranger) = contact_thread(&a, "Stranger", "+14155550199", "sms").await;
    let (status, err) = a.client.post("/api/messages", json!({ "thread_id": stranger, "body": "hi" })).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "not_verified");
    assert!(thread_view(&a, &stranger).await.1.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.received_requests().await.is_empty(), "an unverified number was messaged");

    // The verified number gets its message.
    let (_, friend) = contact_thread(&a, "Friend", "+14155550100", "sms").await;
    let msg = send(&a, &friend, "hi", &[]).await;
    wait_for_status(&a, &friend, msg["id"].as_str().unwrap(), "sent").await;
    let requests = fake.received_requests().await;
    assert_eq!(requests.len(), 1);
    assert!(form_of(&requests[0]).contains(&("To".to_owned(), "+14155550100".to_owned())));
    drop(fake);
    server.stop().await;
}
