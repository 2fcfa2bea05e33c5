//! Twilio end to end: malformed requests.

use super::*;

#[sqlx::test]
async fn malformed_webhooks_are_refused_and_the_server_stays_healthy(pool: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let db = pool.connect_with(opts.clone()).await.unwrap();
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let hook = "/webhooks/twilio/messages";
    let url = format!("{}{hook}", server.base);
    let form = "application/x-www-form-urlencoded";

    // Invalid percent-encoding (`%ZZ`, a `%` at the end, a lone `%` before text). The
    // signature is computed over what a lenient decoder would read, so only the encoding itself
    // is wrong.
    let sid = format!("SM{}", hex32());
    for bad in ["Body=50%ZZoff", "Body=100%", "Body=half%2"] {
        let raw = format!("AccountSid={}&From=%2B14155550123&To=%2B15005550006&MessageSid={sid}&NumMedia=0&{bad}", account.sid);
        let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
        let sig = web::twilio_signature::sign(&account.token, &url, &lenient);
        let r = post_bytes(&server, hook, &sig, form, raw.into_bytes()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "{bad} wrote something");
        assert_healthy(&a).await;
    }

    // Percent-encoded bytes that are not UTF-8.
    let raw = format!("AccountSid={}&From=%2B14155550123&To=%2B15005550006&MessageSid={sid}&Body=%FF%FE%FD", account.sid);
    let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
    let sig = web::twilio_signature::sign(&account.token, &url, &lenient);
    let r = post_bytes(&server, hook, &sig, form, raw.into_bytes()).await;
    assert_eq!(r.status, 400, "not UTF-8: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));

    // The right parameters as JSON: Twilio posts forms only.
    let params = inbound_params(&account, "+14155550123", &sid, "hello");
    let sig = web::twilio_signature::sign(&account.token, &url, &params);
    let as_json: serde_json::Map<String, Value> = params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let r = post_bytes(&server, hook, &sig, "application/json", serde_json::to_vec(&as_json).unwrap()).await;
    assert_eq!(r.status, 415, "JSON: {}", r.body);
    // And a form body without any content type.
    let body = serde_urlencoded::to_string(&params).unwrap();
    let r = reply(reqwest::Client::new().post(&url).header("X-Twilio-Signature", &sig).body(body)).await;
    assert_eq!(r.status, 415, "no content type: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_healthy(&a).await;

    // A body over 64 KiB is cut off with 413 before it is parsed.
    let huge = with(params.clone(), "Body", &"x".repeat(100 * 1024));
    let r = post_signed(&server, hook, &account.token, &huge).await;
    assert_eq!(r.status, 413, "huge body: {}", r.body);
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_healthy(&a).await;

    // Signed requests missing what every inbound message has.
    for missing in ["From", "MessageSid", "AccountSid", "To"] {
        let mut p = without(params.clone(), missing);
        if missing == "MessageSid" {
            p = without(p, "SmsMessageSid");
        }
        let r = post_signed(&server, hook, &account.token, &p).await;
        assert_eq!(r.status, 400, "no {missing}: {}", r.body);
        assert_eq!(rows(&db).await, (0, 0, 0), "no {missing} wrote something");
    }
    // An empty body, and From that is not a phone number.
    let r = post_bytes(&server, hook, "", form, vec![]).await;
    assert_eq!(r.status, 400, "empty body: {}", r.body);
    let r = post_signed(&server, hook, &account.token, &with(params.clone(), "From", "not-a-phone")).await;
    assert_eq!(r.status, 400, "bad From: {}", r.body);

    // Status callbacks: missing MessageStatus, malformed encoding (both refused as malformed
    // before the sid is even looked up).
    let status_url = format!("{}/webhooks/twilio/status", server.base);
    let p = pairs(&[("AccountSid", &account.sid), ("MessageSid", &sid)]);
    let r = post_signed(&server, "/webhooks/twilio/status", &account.token, &p).await;
    assert_eq!(r.status, 400, "no MessageStatus: {}", r.body);
    let raw = format!("AccountSid={}&MessageSid={sid}&MessageStatus=deliv%ZZered", account.sid);
    let lenient: Form = serde_urlencoded::from_str(&raw).unwrap();
    let sig = web::twilio_signature::sign(&account.token, &status_url, &lenient);
    let r = post_bytes(&server, "/webhooks/twilio/status", &sig, form, raw.into_bytes()).await;
    assert_eq!(r.status, 400, "malformed status: {}", r.body);

    // Nothing was written, and the server still works: health, then a genuine webhook.
    assert_eq!(rows(&db).await, (0, 0, 0));
    assert_nothing_visible(&a).await;
    assert_healthy(&a).await;
    assert_twiml(&post_signed(&server, hook, &account.token, &params).await);
    assert_eq!(rows(&db).await, (1, 1, 1));
    server.stop().await;
}
