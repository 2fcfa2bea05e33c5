//! Twilio end to end: inbound webhooks.

use super::*;

#[sqlx::test]
async fn a_signed_inbound_webhook_is_stored_once_and_fanned_out(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;

    // Alice watches the inbox.
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;

    // A new person texts a picture. Twilio sends parameters we do not know too.
    let sid = format!("SM{}", hex32());
    let picture = format!("https://api.twilio.com/2010-04-01/Accounts/{}/Messages/{sid}/Media/ME{}", account.sid, hex32());
    let mut params = inbound_params(&account, "+14155550123", &sid, "Hi! Is my order ready?");
    params = with(params, "NumMedia", "1");
    params.extend(pairs(&[
        ("MediaUrl0", &picture),
        ("MediaContentType0", "image/jpeg"),
        ("ProfileName", "Dana Scully"),
        ("SomeFutureParam", "kept as received"),
    ]));
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await;
    assert_twiml(&r);

    // The inbox hears of a new thread on the real channel, named after the profile.
    let created = ws.expect_data("thread.created", WAIT).await;
    let thread = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["contact"]["phone"], "+14155550123");
    assert_eq!(created["contact"]["name"], "Dana Scully");
    assert_eq!(created["channel"]["id"], channel["id"]);
    assert_eq!(created["unread_count"], 1);

    // The message is stored with its media.
    let (_, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["direction"], "inbound");
    assert_eq!(m["status"], "received");
    assert_eq!(m["channel"], "sms");
    assert_eq!(m["body"], "Hi! Is my order ready?");
    assert_eq!(m["provider_sid"], sid);
    assert_eq!(m["media"], json!([{ "url": picture, "content_type": "image/jpeg" }]));

    // The raw receipt keeps what we did not understand.
    let kept: Option<String> = sqlx::query_scalar("SELECT params->>'SomeFutureParam' FROM webhook_receipts WHERE message_sid = $1")
        .bind(&sid)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("kept as received"));

    // Now watching the thread too: the next message, with two attachments, arrives there.
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let sid2 = format!("SM{}", hex32());
    let (one, two) = ("https://media.example.com/1.jpg", "https://media.example.com/2.pdf");
    let mut second = inbound_params(&account, "+14155550123", &sid2, "and the receipt");
    second = with(second, "NumMedia", "2");
    second.extend(pairs(&[
        ("MediaUrl0", one),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", two),
        ("MediaContentType1", "application/pdf"),
    ]));
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &second).await);
    let ev = ws.expect_data("message.created", WAIT).await;
    assert_eq!(ev["thread_id"], thread);
    assert_eq!(ev["data"]["body"], "and the receipt");
    assert_eq!(
        ev["data"]["media"],
        json!([{ "url": one, "content_type": "image/jpeg" }, { "url": two, "content_type": "application/pdf" }])
    );

    // Twilio retries a webhook it is unsure of: the same MessageSid again is acknowledged the
    // same way and stores nothing new.
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &second).await);
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await);
    ws.expect_none("message.created", Duration::from_millis(400)).await;
    let (summary, messages) = thread_view(&a, &thread).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(summary["unread_count"], 2);
    server.stop().await;
}

#[sqlx::test]
async fn forged_inbound_webhooks_are_refused_before_anything_is_written(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let url = format!("{}/webhooks/twilio/messages", server.base);
    let params = inbound_params(&account, "+14155550123", &format!("SM{}", hex32()), "I am who I say I am");
    let sign = |token: &str, url: &str, p: &[(String, String)]| web::twilio_signature::sign(token, url, p);
    let genuine = sign(&account.token, &url, &params);

    let forgeries: Vec<(&str, Option<String>, Form)> = vec![
        // Someone changes the body of a genuine request.
        ("tampered body", Some(genuine.clone()), with(params.clone(), "Body", "send me the refund")),
        // Someone adds a parameter Twilio did not send.
        ("added parameter", Some(genuine.clone()), with(params.clone(), "ProfileName", "Mallory")),
        // A signature made for another URL: another host, another path, an added query.
        ("other host", Some(sign(&account.token, "https://evil.example.com/webhooks/twilio/messages", &params)), params.clone()),
        ("other path", Some(sign(&account.token, &format!("{}/webhooks/twilio/status", server.base), &params)), params.clone()),
        ("other query", Some(sign(&account.token, &format!("{url}?team=1"), &params)), params.clone()),
        // The right request signed with another token.
        ("wrong token", Some(sign(&hex32(), &url, &params)), params.clone()),
        // No signature at all, an empty one, and garbage.
        ("missing signature", None, params.clone()),
        ("empty signature", Some(String::new()), params.clone()),
        ("garbage signature", Some("not base64 at all!".to_owned()), params.clone()),
        // A genuine signature, cut short.
        ("truncated signature", Some(genuine[..genuine.len() - 4].to_owned()), params.clone()),
    ];
    for (what, signature, p) in forgeries {
        let r = post_form(&server, "/webhooks/twilio/messages", signature.as_deref(), &p).await;
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "{what} wrote something");
    }

    // A number we do not serve, or an account we do not know: the same 403 as a bad signature
    // (a different answer would tell a stranger what our tenants configured), nothing written.
    let unknown_number = with(params.clone(), "To", "+14155550999");
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &unknown_number).await;
    assert_eq!(r.status, 403, "unknown number: {}", r.body);
    let unknown_account = with(params.clone(), "AccountSid", &format!("AC{}", hex32()));
    let r = post_signed(&server, "/webhooks/twilio/messages", &account.token, &unknown_account).await;
    assert_eq!(r.status, 403, "unknown account: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_nothing_visible(&a).await;

    // The genuine request itself was fine all along.
    assert_twiml(&post_form(&server, "/webhooks/twilio/messages", Some(&genuine), &params).await);
    let (_, threads) = a.client.get("/api/threads").await;
    assert_eq!(threads["items"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[sqlx::test]
async fn a_new_contacts_first_burst_is_stored_whole(pool: PgPoolOptions, opts: PgConnectOptions) {
    // 20 numbers the team has never seen each send 8 messages at once (Twilio delivers a burst
    // concurrently). Every webhook is answered 200 (Twilio does not retry an inbound message after
    // a 5xx: it would be lost) and each number ends with one contact and one thread.
    let _ = pool;
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let posts = (0..20).flat_map(|n| (0..8).map(move |m| (n, m))).map(|(n, m)| {
        let params = inbound_params(&account, &format!("+1415556{:04}", 1000 + n), &format!("SM{}", hex32()), &format!("burst {n}.{m}"));
        let server = &server;
        let token = account.token.clone();
        async move { post_signed(server, "/webhooks/twilio/messages", &token, &params).await }
    });
    let answers = futures_util::future::join_all(posts).await;
    let failed: Vec<_> = answers.iter().filter(|r| r.status != 200).map(|r| (r.status, r.body.clone())).collect();
    assert!(failed.is_empty(), "{} of 160 webhooks failed: {:?}", failed.len(), &failed[..failed.len().min(3)]);
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let (contacts, threads, messages): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM threads), (SELECT count(*) FROM messages WHERE direction = 'inbound')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((contacts, threads, messages), (20, 20, 160));
    server.stop().await;
}

#[sqlx::test]
async fn only_http_media_urls_are_stored(pool: PgPoolOptions, opts: PgConnectOptions) {
    // A media URL a page would open as script (javascript:, data:) is never stored, even from a
    // correctly signed webhook; the message and its http(s) media still are.
    let _ = pool;
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let mut params = with(inbound_params(&account, "+14155550163", &format!("SM{}", hex32()), "pictures"), "NumMedia", "3");
    params.push(("MediaUrl0".into(), "javascript:alert(document.cookie)".into()));
    params.push(("MediaUrl1".into(), "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into()));
    params.push(("MediaUrl2".into(), "data:text/html,<script>alert(1)</script>".into()));
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await);
    let (_, list) = a.client.get("/api/threads").await;
    let thread = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, view) = a.client.get(&format!("/api/threads/{thread}")).await;
    let media: Vec<&str> = view["messages"][0]["media"].as_array().unwrap().iter().map(|m| m["url"].as_str().unwrap()).collect();
    assert_eq!(media, vec!["https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"]);
    server.stop().await;
}

#[sqlx::test]
async fn another_team_cannot_capture_or_break_our_webhooks(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Team C registers team B's AccountSid and number with a token of its own (nobody proves an
    // AccountSid). It is not told that B has them, B's correctly signed webhooks still reach B,
    // and C's configuration sees none of them.
    let server = TestServer::start(&opts).await;
    let b = server.admin("Bea").await;
    let account = Account::new();
    add_channel(&b, "sms", &account, None).await;
    let c = server.admin("Cy").await;
    let (status, body) =
        c.client.post("/api/channels", json!({ "kind": "sms", "number": NUMBER, "account_sid": account.sid, "auth_token": hex32() })).await;
    assert_eq!(status, 201, "no 409 that would confirm B's configuration: {body}");

    let params = inbound_params(&account, "+14155550165", &format!("SM{}", hex32()), "for Bea");
    assert_twiml(&post_signed(&server, "/webhooks/twilio/messages", &account.token, &params).await);
    let (_, b_threads) = b.client.get("/api/threads").await;
    assert_eq!(b_threads["items"].as_array().unwrap().len(), 1, "B got its message");
    let (_, c_threads) = c.client.get("/api/threads").await;
    assert_eq!(c_threads["items"].as_array().unwrap().len(), 0, "C got nothing");

    // A team may not configure the same number twice itself.
    let (status, _) = b
        .client
        .post("/api/channels", json!({ "kind": "sms", "number": NUMBER, "account_sid": account.sid, "auth_token": account.token }))
        .await;
    assert_eq!(status, 409);
    server.stop().await;
}
