//! Twilio end to end: status callbacks.

use super::*;

#[sqlx::test]
async fn status_callbacks_only_move_a_message_forward(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let to = "+14155550123";
    let (_, thread) = contact_thread(&a, "Carol", to, "sms").await;
    accepts_sends(&account).mount(&twilio).await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let status_path = "/webhooks/twilio/status";

    // A message goes out and Twilio gives it a sid.
    let first = send(&a, &thread, "first", &[]).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let sent = wait_for_status(&a, &thread, &first_id, "sent").await;
    let sid1 = sent["provider_sid"].as_str().unwrap().to_owned();
    ws.expect_data("message.updated", WAIT).await; // sent

    // Callbacks arrive out of order: delivered, then the older sent and queued.
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid1, "delivered", to, None)).await;
    assert_twiml(&r);
    let ev = ws.expect_data("message.updated", WAIT).await;
    assert_eq!(ev["data"]["status"], "delivered");
    for late in ["sent", "queued"] {
        let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid1, late, to, None)).await;
        assert_twiml(&r);
    }
    // The stale ones are acknowledged but change nothing and announce nothing.
    ws.expect_none("message.updated", Duration::from_millis(400)).await;
    let delivered = wait_for_status(&a, &thread, &first_id, "delivered").await;
    assert!(delivered["delivered_at"].is_string(), "{delivered}");

    // Unsigned, or signed with another token: refused, and the message stays delivered even
    // though a genuine `read` would move it on.
    let read = status_params(&account, &sid1, "read", to, None);
    let r = post_form(&server, status_path, None, &read).await;
    assert_eq!(r.status, 403, "unsigned: {}", r.body);
    let r = post_signed(&server, status_path, &hex32(), &read).await;
    assert_eq!(r.status, 403, "wrong token: {}", r.body);
    let tampered = web::twilio_signature::sign(&account.token, &format!("{}{status_path}", server.base), &read);
    let r = post_form(&server, status_path, Some(&tampered), &with(read.clone(), "MessageStatus", "failed")).await;
    assert_eq!(r.status, 403, "tampered: {}", r.body);
    ws.expect_none("message.updated", Duration::from_millis(300)).await;
    let (_, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages[0]["status"], "delivered");
    // The genuine one does.
    assert_twiml(&post_signed(&server, status_path, &account.token, &read).await);
    wait_for_status(&a, &thread, &first_id, "read").await;

    // A second message fails at the carrier: failed, with the code and a readable reason.
    let second = send(&a, &thread, "second", &[]).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let sid2 = wait_for_status(&a, &thread, &second_id, "sent").await["provider_sid"].as_str().unwrap().to_owned();
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid2, "failed", to, Some("30003"))).await;
    assert_twiml(&r);
    let failed = wait_for_status(&a, &thread, &second_id, "failed").await;
    assert_eq!(failed["error_code"], 30003);
    let reason = failed["error_reason"].as_str().unwrap();
    assert!(reason.contains("unreachable") && reason.contains("30003"), "{reason}");

    // A late `delivered` after `failed` is acknowledged and changes nothing.
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &sid2, "delivered", to, None)).await;
    assert_twiml(&r);
    let (_, messages) = thread_view(&a, &thread).await;
    let still = messages.iter().find(|m| m["id"] == second_id.as_str()).unwrap();
    assert_eq!(still["status"], "failed");
    assert_eq!(still["delivered_at"], Value::Null);
    assert_eq!(still["error_code"], 30003);

    // A sid we have not recorded (yet), signed by our account for our number, is kept for when
    // the send's answer arrives; from an account we do not know, or forged, a 403 (the same).
    let r = post_signed(&server, status_path, &account.token, &status_params(&account, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_twiml(&r);
    let stranger = Account::new();
    let r =
        post_signed(&server, status_path, &stranger.token, &status_params(&stranger, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_eq!(r.status, 403, "unknown account: {}", r.body);
    let r = post_signed(&server, status_path, "wrong-token", &status_params(&account, &format!("SM{}", hex32()), "sent", to, None)).await;
    assert_eq!(r.status, 403, "forged early callback: {}", r.body);
    server.stop().await;
}

#[sqlx::test]
async fn a_callback_that_beats_the_send_answer_is_applied_when_the_sid_is_recorded(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Twilio answers the send slowly, and its `delivered` callback arrives before that answer.
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let (a, account, thread) = team_on_twilio(&server, "+14155550124").await;
    let sid = format!("SM{}", hex32());
    answers_once_after(&twilio, &account, &sid, Duration::from_millis(1500)).await;
    let msg = send(&a, &thread, "early bird", &[]).await;
    let id = msg["id"].as_str().unwrap().to_owned();

    // While the send waits for Twilio, the callback comes in: accepted (200), kept.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r =
        post_signed(&server, "/webhooks/twilio/status", &account.token, &status_params(&account, &sid, "delivered", "+14155550124", None))
            .await;
    assert_twiml(&r);

    // Once Twilio's answer records the sid, the kept callback applies: delivered, not sent.
    let delivered = wait_for_status(&a, &thread, &id, "delivered").await;
    assert_eq!(delivered["provider_sid"], sid);
    assert!(delivered["delivered_at"].is_string());
    twilio.verify().await;
    server.stop().await;
}

#[sqlx::test]
async fn status_receipts_are_kept_once_and_only_for_their_own_team(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();

    // Team B sends; Twilio's answer (with the sid) is slow.
    let b = server.admin("Bea").await;
    let b_account = Account::new();
    add_channel(&b, "sms", &b_account, None).await;
    let (_, thread) = contact_thread(&b, "Carol", "+14155550164", "sms").await;
    let sid = format!("SM{}", hex32());
    Mock::given(method("POST"))
        .and(path(b_account.messages_path()))
        .respond_with(created(&sid).set_delay(Duration::from_millis(1500)))
        .mount(&twilio)
        .await;

    // Team C, with its own Twilio account and a number of its own, posts correctly signed (with
    // ITS token) early callbacks for B's sid, guessed or leaked, before B's send records it.
    let c = server.admin("Cy").await;
    let c_account = Account::new();
    let (status, _) = c
        .client
        .post(
            "/api/channels",
            json!({ "kind": "sms", "number": "+15005550001", "account_sid": c_account.sid, "auth_token": c_account.token }),
        )
        .await;
    assert_eq!(status, 201);
    let msg = send(&b, &thread, "hello Carol", &[]).await;
    let mut forged = status_params(&c_account, &sid, "undelivered", "+14155550164", Some("30007"));
    forged = with(forged, "From", "+15005550001");
    let r = post_signed(&server, "/webhooks/twilio/status", &c_account.token, &forged).await;
    assert_twiml(&r);

    // B's own delivered callback, replayed five times: one receipt.
    let own = status_params(&b_account, &sid, "delivered", "+14155550164", None);
    for _ in 0..5 {
        assert_twiml(&post_signed(&server, "/webhooks/twilio/status", &b_account.token, &own).await);
    }
    let delivered = wait_for_status(&b, &thread, msg["id"].as_str().unwrap(), "delivered").await;
    assert_eq!(delivered["error_code"], Value::Null, "team C's receipt never touches team B's message: {delivered}");
    let (kept,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM webhook_receipts WHERE kind = 'status' AND message_sid = $1 AND params->>'MessageStatus' = 'delivered'",
    )
    .bind(&sid)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(kept, 1, "a replayed callback is kept once");
    server.stop().await;
}
