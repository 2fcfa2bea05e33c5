//! Twilio end to end: the simulator.

use super::*;

#[sqlx::test]
async fn the_simulator_loop_runs_until_a_real_number_is_added(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Twilio must never be called while the team runs on the simulator.
    let twilio = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).named("real Twilio").mount(&twilio).await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;

    // A new team starts in simulator mode.
    let a = server.admin("Alice").await;
    let (status, me) = a.client.get("/api/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["team"]["simulator_mode"], true, "{me}");

    // A send is answered by the simulator: sent, then delivered, on the thread socket.
    let thread = a.thread_with("Carol", "+14155550123").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;
    let msg = send(&a, &thread, "hello from the simulator", &[]).await;
    let sent = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(sent["data"]["id"], msg["id"]);
    assert_eq!(sent["data"]["status"], "sent");
    assert!(sent["data"]["provider_sid"].as_str().is_some_and(|s| s.starts_with("SM")), "{sent}");
    // The carrier's callback moved only the status: the event carries that, not the message.
    let delivered = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(delivered["data"]["status"], "delivered");
    assert_eq!(delivered["data"]["id"], msg["id"]);
    assert!(delivered["data"]["delivered_at"].is_string(), "{delivered}");
    assert!(delivered["data"].get("body").is_none() && delivered["data"].get("provider_sid").is_none(), "{delivered}");
    assert!(sent["data"].get("body").is_none(), "the answer's event carries what moved too: {sent}");

    // A person writes on WhatsApp through the simulator: it comes in as a new thread.
    let (status, answer) = a
        .client
        .post("/api/simulator/inbound", json!({ "from": "+14155550142", "channel": "whatsapp", "body": "hola 👋", "profile_name": "Rosa" }))
        .await;
    assert_eq!(status, 202, "{answer}");
    let message_sid = answer["message_sid"].as_str().unwrap().to_owned();
    assert!(message_sid.starts_with("SM"), "{answer}");
    let created = ws.expect_data("thread.created", WAIT).await;
    assert_eq!(created["channel"]["kind"], "whatsapp");
    assert_eq!(created["contact"]["phone"], "+14155550142");
    let (_, list) = a.client.get("/api/threads?channel=whatsapp").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], created["id"]);
    let (_, messages) = thread_view(&a, created["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "hola 👋");
    assert_eq!(messages[0]["provider_sid"], message_sid);
    assert_eq!(messages[0]["channel"], "whatsapp");

    // Adding a real number ends simulator mode, and the simulator's inbound with it.
    add_channel(&a, "sms", &Account::new(), None).await;
    let (_, me) = a.client.get("/api/me").await;
    assert_eq!(me["team"]["simulator_mode"], false, "{me}");
    let (status, err) =
        a.client.post("/api/simulator/inbound", json!({ "from": "+14155550143", "channel": "sms", "body": "anyone?" })).await;
    assert_eq!(status, 409, "{err}");
    twilio.verify().await;
    server.stop().await;
}

#[sqlx::test]
async fn sends_are_paced_per_sending_number_without_holding_up_others(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Two messages per second per sender; an SMS burst on one number, and a WhatsApp message.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.send_rate_per_second = 2;
    })
    .await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    add_channel(&a, "whatsapp", &account, None).await;
    let (contact, sms_thread) = contact_thread(&a, "Carol", "+14155550125", "sms").await;
    let (status, wa) = a.client.post("/api/threads/for-contact", json!({ "contact_id": contact, "channel": "whatsapp" })).await;
    assert_eq!(status, 200);
    let wa_thread = wa["id"].as_str().unwrap().to_owned();
    contact_writes(&server, &account, "+14155550125", "whatsapp").await;
    Mock::given(method("POST")).and(path(account.messages_path())).respond_with(created(&format!("SM{}", hex32()))).mount(&twilio).await;

    // Five SMS at once, then one WhatsApp message.
    let started = std::time::Instant::now();
    for i in 0..5 {
        send(&a, &sms_thread, &format!("sms {i}"), &[]).await;
    }
    send(&a, &wa_thread, "whatsapp now", &[]).await;

    // Wait until all six reached Twilio, noting when each arrived.
    let mut arrivals: Vec<(String, Duration)> = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while arrivals.len() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "only {} sends arrived", arrivals.len());
        let requests = twilio.received_requests().await.unwrap();
        for r in requests.iter().skip(arrivals.len()) {
            let body = form_of(r).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default();
            arrivals.push((body, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The SMS burst is paced: two at once, then one every half second (about 1.5 s in all).
    let sms: Vec<Duration> = arrivals.iter().filter(|(b, _)| b.starts_with("sms")).map(|(_, t)| *t).collect();
    assert_eq!(sms.len(), 5);
    assert!(sms[4] - sms[0] >= Duration::from_millis(1200), "SMS paced: {arrivals:?}");
    // The WhatsApp message did not wait behind them.
    let wa_at = arrivals.iter().find(|(b, _)| b == "whatsapp now").unwrap().1;
    assert!(wa_at < sms[4], "WhatsApp went before the SMS burst finished: {arrivals:?}");
    server.stop().await;
}
