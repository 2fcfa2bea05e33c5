//! Twilio end to end: sending through the twilio rest api.

use super::*;

#[sqlx::test]
async fn a_send_posts_exactly_the_twilio_request_and_records_the_sid(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A fake Twilio, and a server that sends to it.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;

    // The admin connects a real Twilio number; the contact's SMS thread uses it.
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550123", "sms").await;
    let (summary, _) = thread_view(&a, &thread).await;
    assert_eq!(summary["channel"]["id"], channel["id"], "the real channel is picked first");

    // Twilio accepts the message once, and only with the account's Basic credentials.
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .and(header("authorization", account.basic_auth().as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(created(&sid))
        .expect(1)
        .named("create message")
        .mount(&twilio)
        .await;

    // An agent watching the thread.
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;

    // Alice sends a text with two pictures; characters that need encoding ride along.
    let body = "Your order #42 shipped 📦 & is on its way: 100% sure + tracked";
    let media = ["https://cdn.example.com/a.jpg?size=large&v=2", "https://cdn.example.com/b.png"];
    let msg = send(&a, &thread, body, &media).await;
    assert_eq!(msg["direction"], "outbound");
    assert_eq!(msg["status"], "queued");
    let id = msg["id"].as_str().unwrap().to_owned();

    // The socket sees it created, then sent with Twilio's sid.
    let created_ev = ws.expect_data("message.created", WAIT).await;
    assert_eq!(created_ev["data"]["id"], id);
    let updated = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(updated["data"]["status"], "sent");
    assert_eq!(updated["data"]["provider_sid"], sid);

    // The thread agrees.
    let sent = wait_for_status(&a, &thread, &id, "sent").await;
    assert_eq!(sent["provider_sid"], sid);
    assert!(sent["sent_at"].is_string(), "{sent}");
    assert_eq!(sent["error_code"], Value::Null);
    assert_eq!(sent["error_reason"], Value::Null);

    // Exactly one request, carrying exactly Twilio's form: To, From, Body, one MediaUrl per URL
    // (in order), and our status callback.
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.path(), format!("/2010-04-01/Accounts/{}/Messages.json", account.sid));
    assert_eq!(req.headers.get("authorization").unwrap().to_str().unwrap(), account.basic_auth());
    // The callback URL names our message, so a callback can repair a send whose answer is lost.
    let callback = format!("{}/webhooks/twilio/status?message={id}", server.base);
    assert_eq!(
        form_of(req),
        sorted(pairs(&[
            ("To", "+14155550123"),
            ("From", NUMBER),
            ("Body", body),
            ("MediaUrl", media[0]),
            ("MediaUrl", media[1]),
            ("StatusCallback", &callback),
        ]))
    );
    twilio.verify().await;
    server.stop().await;
}

#[sqlx::test]
async fn a_channel_with_a_messaging_service_sends_through_it(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;

    // A WhatsApp sender behind a Messaging Service.
    let account = Account::new();
    let service = format!("MG{}", hex32());
    add_channel(&a, "whatsapp", &account, Some(&service)).await;
    let (_, thread) = contact_thread(&a, "Dmitri", "+447911123456", "whatsapp").await;
    contact_writes(&server, &account, "+447911123456", "whatsapp").await;
    let guard = accepts_sends(&account).expect(1).mount_as_scoped(&twilio).await;

    let msg = send(&a, &thread, "Привет!", &[]).await;
    wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;

    // The service replaces From; WhatsApp addresses carry their prefix; no media, no MediaUrl.
    let requests = guard.received_requests().await;
    assert_eq!(requests.len(), 1);
    let callback = format!("{}/webhooks/twilio/status?message={}", server.base, msg["id"].as_str().unwrap());
    assert_eq!(
        form_of(&requests[0]),
        sorted(pairs(&[
            ("To", "whatsapp:+447911123456"),
            ("MessagingServiceSid", &service),
            ("Body", "Привет!"),
            ("StatusCallback", &callback),
        ]))
    );
    drop(guard);
    server.stop().await;
}

#[sqlx::test]
async fn twilio_refusals_fail_the_message_with_a_reason_and_are_not_retried(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    add_channel(&a, "whatsapp", &account, None).await;

    // Each refusal Twilio gives for a message that will never go out as it is.
    let cases = [
        (21610, "sms", "+14155550131", "Attempt to send to unsubscribed recipient", "unsubscribed"),
        (21608, "sms", "+14155550132", "The number is unverified. Trial accounts cannot send messages to unverified numbers", "unverified"),
        (21211, "sms", "+14155550133", "The 'To' number is not a valid phone number.", "invalid 'To'"),
        (63016, "whatsapp", "+14155550134", "Failed to send freeform message because you are outside the allowed window.", "24-hour"),
    ];
    for (code, kind, phone, twilio_message, words) in cases {
        // A fresh fake for each case: it refuses, and must be asked exactly once.
        twilio.reset().await;
        Mock::given(method("POST"))
            .and(path(account.messages_path()))
            .respond_with(refused(400, code, twilio_message))
            .expect(1)
            .named(format!("refusal {code}"))
            .mount(&twilio)
            .await;
        let (_, thread) = contact_thread(&a, &format!("Contact {code}"), phone, kind).await;
        // Inside the WhatsApp window (outside it the server refuses before Twilio could).
        if kind == "whatsapp" {
            contact_writes(&server, &account, phone, kind).await;
        }
        let msg = send(&a, &thread, "hello", &[]).await;

        // The message fails with the code and a reason a person can read.
        let failed = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "failed").await;
        assert_eq!(failed["error_code"], code, "{failed}");
        let reason = failed["error_reason"].as_str().unwrap();
        assert!(reason.contains(words) && reason.contains(&code.to_string()), "{code}: {reason}");
        assert_eq!(failed["provider_sid"], Value::Null);

        // Failed is final: the send was not tried again (the failure is recorded only after
        // the carrier gave up, so any retry would already have reached the fake).
        twilio.verify().await;
    }
    server.stop().await;
}

#[sqlx::test]
async fn rate_limits_are_retried_until_twilio_accepts(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let (_, thread) = contact_thread(&a, "Carol", "+14155550123", "sms").await;

    // First a 429, then a 400 carrying code 20429 (Twilio's "too many requests"), then success.
    // Mocks are tried in mounting order, each used up after one answer.
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(refused(429, 20429, "Too Many Requests"))
        .up_to_n_times(1)
        .expect(1)
        .named("429")
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(refused(400, 20429, "Too Many Requests"))
        .up_to_n_times(1)
        .expect(1)
        .named("code 20429")
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(account.messages_path()))
        .respond_with(created(&sid))
        .expect(1)
        .named("accepted")
        .mount(&twilio)
        .await;

    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let msg = send(&a, &thread, "eventually", &[]).await;

    // The only status change anyone sees is the final one: sent, with the sid of the success.
    let updated = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(updated["data"]["status"], "sent", "{updated}");
    assert_eq!(updated["data"]["provider_sid"], sid);
    let sent = wait_for_status(&a, &thread, msg["id"].as_str().unwrap(), "sent").await;
    assert_eq!(sent["error_code"], Value::Null);

    // Three tries of the same form.
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| form_of(r) == form_of(&requests[0])));
    twilio.verify().await;
    server.stop().await;
}
