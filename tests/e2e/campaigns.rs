//! Campaigns end to end, against a fake Twilio that counts requests: exact counts for an
//! audience with opted-out, invalid and duplicate contacts and one carrier request per sent
//! recipient; pause, resume, cancel and the edits refused while running; two nodes with one
//! killed mid-campaign (none sent twice, none left queued); replies and STOP counted.

use crate::support::twilio::*;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::time::Duration;
use wiremock::MockServer;

/// `n` contacts named `First{i} Last` with tag `promo` at +1415555xxxx, straight into the
/// team's table (the API's own contact rules are tested elsewhere); answers their ids in order.
pub(crate) async fn seed_contacts(db: &PgPool, team: &str, n: usize, first: usize) -> Vec<String> {
    let rows = sqlx::query(
        "INSERT INTO contacts (id, team_id, phone, name, first_name, tags)
         SELECT gen_random_uuid(), $1::uuid, '+1415555' || lpad(i::text, 4, '0'), 'First' || i || ' Last', 'First' || i, ARRAY['promo']
         FROM generate_series($2::int, $3::int) AS i ORDER BY i RETURNING id::text",
    )
    .bind(team)
    .bind(first as i32)
    .bind((first + n - 1) as i32)
    .fetch_all(db)
    .await
    .unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

async fn create(a: &Agent, channel: &Value, audience: Value, body: &str) -> Value {
    let (status, c) = a
        .client
        .post("/api/campaigns", json!({ "name": "Spring sale", "channel_id": channel["id"], "body": body, "audience": audience }))
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "draft");
    c
}

pub(crate) async fn campaign(a: &Agent, id: &Value) -> Value {
    let (status, c) = a.client.get(&format!("/api/campaigns/{}", id.as_str().unwrap())).await;
    assert_eq!(status, 200, "{c}");
    c
}

pub(crate) async fn act(a: &Agent, id: &Value, action: &str) -> (u16, Value) {
    a.client.post(&format!("/api/campaigns/{}/{action}", id.as_str().unwrap()), json!({})).await
}

pub(crate) async fn wait_for(a: &Agent, id: &Value, wait: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let c = campaign(a, id).await;
        if done(&c) {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "campaign did not get there in {wait:?}: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Carrier requests per `To` number.
async fn requests_per_number(twilio: &MockServer) -> HashMap<String, usize> {
    let mut per: HashMap<String, usize> = HashMap::new();
    for r in twilio.received_requests().await.unwrap() {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(&r.body).unwrap();
        *per.entry(form["To"].clone()).or_default() += 1;
    }
    per
}

/// The recipients table's own counts by status.
async fn table_counts(db: &PgPool, id: &Value) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = $1::uuid GROUP BY 1")
            .bind(id.as_str().unwrap())
            .fetch_all(db)
            .await
            .unwrap();
    rows.into_iter().collect()
}

pub(crate) fn fast(twilio: &MockServer, per_second: f64) -> impl FnOnce(&mut switchboard::Config) + '_ {
    move |c| {
        c.twilio_api_base = twilio.uri();
        c.campaign_rate_long_code = per_second;
        c.scheduler_poll_ms = 100;
        // The tests' own polling on a busy machine is not an agent waiting: campaigns here
        // keep their whole pace (yielding is a rule's unit test and a benchmark, §11c).
        c.campaign_yield_ms = 0;
    }
}

/// A campaign's world: a fake Twilio that accepts every send, a server sending campaigns to it
/// at `per_second`, an admin, a `kind` number of a Twilio account, and a pool on the database.
pub(crate) struct Setup {
    pub twilio: MockServer,
    pub server: TestServer,
    pub a: Agent,
    pub account: Account,
    pub channel: Value,
    pub db: PgPool,
}

pub(crate) async fn setup(opts: &PgConnectOptions, kind: &str, per_second: f64) -> Setup {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(opts, fast(&twilio, per_second)).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, kind, &account, None).await;
    accepts_sends(&account).mount(&twilio).await;
    let db = PgPool::connect_with(opts.clone()).await.unwrap();
    Setup { twilio, server, a, account, channel, db }
}

#[sqlx::test]
async fn a_campaign_to_200_contacts_skips_exactly_and_asks_the_carrier_once_per_recipient(_p: PgPoolOptions, opts: PgConnectOptions) {
    let Setup { twilio, server, a, account, channel, db } = setup(&opts, "sms", 500.0).await;
    let mut ids = seed_contacts(&db, &a.team_id, 200, 1).await;
    // 5 opted out, 5 with numbers no carrier takes, and 10 named twice in the audience.
    sqlx::query("UPDATE contacts SET opted_out_at = now() WHERE id = ANY($1::uuid[])").bind(&ids[0..5]).execute(&db).await.unwrap();
    sqlx::query("UPDATE contacts SET phone = '+99900000' || right(phone, 3) WHERE id = ANY($1::uuid[])")
        .bind(&ids[5..10])
        .execute(&db)
        .await
        .unwrap();
    let again: Vec<String> = ids[20..30].to_vec();
    ids.extend(again);
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;

    let c = create(&a, &channel, json!({ "contact_ids": ids }), "Hi {{contact.first_name}}, 20% off today").await;
    // The preview renders the first recipients.
    let (status, preview) = a.client.get(&format!("/api/campaigns/{}/preview", c["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{preview}");
    let items = preview["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i["missing_variables"].as_array().unwrap().is_empty()), "{preview}");
    assert!(items.iter().any(|i| i["text"].as_str().unwrap().starts_with("Hi First")), "{preview}");

    let (status, started) = act(&a, &c["id"], "start").await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "running");
    // Live counts on the team channel while it runs.
    let live = ws.expect_data("campaign.updated", Duration::from_secs(5)).await;
    assert_eq!(live["id"], c["id"]);
    let done = wait_for(&a, &c["id"], Duration::from_secs(30), |c| c["status"] == "done").await;

    let k = &done["counts"];
    assert_eq!(k["total"], 210, "{done}");
    assert_eq!(
        (k["sent"].as_i64(), k["skipped"].as_i64(), k["failed"].as_i64(), k["queued"].as_i64()),
        (Some(190), Some(20), Some(0), Some(0))
    );
    assert_eq!(k["skipped_by"], json!({ "duplicate": 10, "invalid_number": 5, "opted_out": 5 }), "{done}");
    // One carrier request per sent recipient, none twice, none to the skipped.
    let per = requests_per_number(&twilio).await;
    assert_eq!(per.len(), 190);
    assert!(per.values().all(|n| *n == 1), "{per:?}");
    assert!(!per.contains_key("+14155550001"), "an opted-out contact got a message");
    // The metrics are the table's.
    let table = table_counts(&db, &c["id"]).await;
    assert_eq!(table.get("sent"), Some(&190));
    assert_eq!(table.get("skipped"), Some(&20));
    // Each body was rendered for its contact.
    let body: String = sqlx::query_scalar(
        "SELECT m.body FROM messages m JOIN threads t ON t.id = m.thread_id JOIN contacts c ON c.id = t.contact_id
         WHERE c.phone = '+14155550042' AND m.campaign_id IS NOT NULL",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(body, "Hi First42, 20% off today");
    // Campaign messages do not flood the inbox.
    let (_, inbox) = a.client.get("/api/threads").await;
    assert_eq!(inbox["items"].as_array().unwrap().len(), 0, "{inbox}");

    // A delivery status moves `delivered` (and `sent` still counts it).
    let sid: String =
        sqlx::query_scalar("SELECT provider_sid FROM messages WHERE campaign_id IS NOT NULL LIMIT 1").fetch_one(&db).await.unwrap();
    let to: String = sqlx::query_scalar(
        "SELECT c.phone FROM messages m JOIN threads t ON t.id = m.thread_id JOIN contacts c ON c.id = t.contact_id WHERE m.provider_sid = $1",
    )
    .bind(&sid)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_twiml(
        &post_signed(&server, "/webhooks/twilio/status", &account.token, &status_params(&account, &sid, "delivered", &to, None)).await,
    );
    let after = campaign(&a, &c["id"]).await;
    assert_eq!((after["counts"]["delivered"].as_i64(), after["counts"]["sent"].as_i64()), (Some(1), Some(190)), "{after}");

    // The CSV lists every recipient with its outcome.
    let csv =
        a.client.http.get(format!("{}/api/campaigns/{}/recipients.csv", server.base, c["id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 211);
    assert!(text.lines().any(|l| l.contains("skipped,duplicate")), "{text}");
    db.close().await;
    server.stop().await;
}

#[sqlx::test]
async fn pause_stops_sends_within_a_second_resume_continues_cancel_ends_and_running_campaigns_cannot_be_edited(
    _p: PgPoolOptions,
    opts: PgConnectOptions,
) {
    let Setup { twilio, server, a, account: _, channel, db } = setup(&opts, "sms", 20.0).await;
    seed_contacts(&db, &a.team_id, 200, 1).await;
    let c = create(&a, &channel, json!({ "tag": "promo" }), "Hello {{contact.first_name}}").await;
    let id = c["id"].as_str().unwrap().to_owned();
    // Edits are fine while it is a draft.
    let (status, edited) = a.client.patch(&format!("/api/campaigns/{id}"), json!({ "name": "Summer sale" })).await;
    assert_eq!((status, edited["name"].as_str()), (200, Some("Summer sale")), "{edited}");
    assert_eq!(act(&a, &c["id"], "start").await.0, 200);
    while twilio.received_requests().await.unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Running: no edits, no delete, no second start.
    let (status, refused) = a.client.patch(&format!("/api/campaigns/{id}"), json!({ "body": "changed" })).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(a.client.delete(&format!("/api/campaigns/{id}")).await.0, 409);
    assert_eq!(act(&a, &c["id"], "start").await.0, 409);

    let (status, paused) = act(&a, &c["id"], "pause").await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("paused")));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_pause = twilio.received_requests().await.unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(twilio.received_requests().await.unwrap().len(), at_pause, "sends went on after the pause");
    assert!(at_pause < 200);
    let paused = campaign(&a, &c["id"]).await;
    assert!(paused["counts"]["queued"].as_i64().unwrap() > 0, "{paused}");
    assert!(paused["rates"]["eta_seconds"].is_null(), "no ETA while paused: {paused}");

    assert_eq!(act(&a, &c["id"], "resume").await.0, 200);
    let moving = wait_for(&a, &c["id"], Duration::from_secs(10), |c| c["counts"]["sent"].as_i64().unwrap() as usize > at_pause + 5).await;
    assert!(moving["rates"]["eta_seconds"].as_u64().is_some(), "{moving}");
    let (status, canceled) = act(&a, &c["id"], "cancel").await;
    assert_eq!((status, canceled["status"].as_str()), (200, Some("canceled")));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_cancel = twilio.received_requests().await.unwrap().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(twilio.received_requests().await.unwrap().len(), at_cancel, "sends went on after cancel");
    let ended = campaign(&a, &c["id"]).await;
    let k = &ended["counts"];
    assert_eq!(k["queued"], 0, "{ended}");
    assert_eq!(k["sent"].as_i64().unwrap() as usize, at_cancel, "{ended}");
    assert_eq!(k["sent"].as_i64().unwrap() + k["skipped_by"]["campaign_canceled"].as_i64().unwrap(), 200, "{ended}");
    // A canceled campaign may be duplicated into a new draft and deleted.
    let (status, copy) = act(&a, &c["id"], "duplicate").await;
    assert_eq!((status, copy["status"].as_str()), (201, Some("draft")), "{copy}");
    assert_eq!(copy["audience"], json!({ "tag": "promo" }));
    assert_eq!(a.client.delete(&format!("/api/campaigns/{id}")).await.0, 204);
    assert_eq!(a.client.get(&format!("/api/campaigns/{id}")).await.0, 404);
    let (_, list) = a.client.get("/api/campaigns").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    db.close().await;
    server.stop().await;
}

#[sqlx::test]
async fn two_nodes_one_killed_mid_campaign_send_each_recipient_at_most_once_and_leave_none_queued(
    _p: PgPoolOptions,
    opts: PgConnectOptions,
) {
    let twilio = MockServer::start().await;
    let url = db_url(&opts);
    let env = [
        ("TWILIO_API_BASE", twilio.uri()),
        ("CAMPAIGN_RATE_LONG_CODE", "40".to_owned()),
        ("STALE_SENDING_SECS", "2".to_owned()),
        ("SCHEDULER_POLL_MS", "100".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut doomed = ServerProcess::start(&url, &env).await;
    let survivor = TestServer::start_with(&opts, |c| {
        c.twilio_api_base = twilio.uri();
        c.campaign_rate_long_code = 40.0;
        c.stale_sending_secs = 2;
        c.scheduler_poll_ms = 100;
    })
    .await;
    let a = sign_up_admin(&doomed.base, "Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    accepts_sends(&account).mount(&twilio).await;
    let db = PgPool::connect_with(opts.clone()).await.unwrap();
    seed_contacts(&db, &a.team_id, 300, 1).await;
    let c = create(&a, &channel, json!({ "tag": "promo" }), "Flash sale for {{contact.first_name}}").await;
    assert_eq!(act(&a, &c["id"], "start").await.0, 200);
    // Both nodes send; one dies with claims and requests in flight.
    while twilio.received_requests().await.unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill9();

    let b = Agent { client: Client { http: a.client.http.clone(), base: survivor.base.clone() }, ..a };
    let done = wait_for(&b, &c["id"], Duration::from_secs(60), |c| c["status"] == "done").await;
    let k = &done["counts"];
    assert_eq!((k["queued"].as_i64(), k["sending"].as_i64()), (Some(0), Some(0)), "{done}");
    assert_eq!(k["total"], 300);
    let per = requests_per_number(&twilio).await;
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    // Every recipient sent is one request; a send whose answer died with its node is failed as
    // outcome unknown (it may have gone out), never sent again.
    let sent = k["sent"].as_i64().unwrap() as usize;
    let unknown = k["failed_by"].get("unknown").and_then(Value::as_i64).unwrap_or(0) as usize;
    assert_eq!(sent + unknown + k["skipped"].as_i64().unwrap() as usize, 300, "{done}");
    assert!(per.len() >= sent && per.len() <= sent + unknown, "{} requests, {sent} sent, {unknown} unknown", per.len());
    let table = table_counts(&db, &c["id"]).await;
    assert!(!table.contains_key("queued") && !table.contains_key("sending"), "{table:?}");
    db.close().await;
    survivor.stop().await;
}

#[sqlx::test]
async fn a_reply_to_a_campaign_message_lands_in_its_thread_bumps_it_and_counts_and_stop_counts_as_opted_out(
    _p: PgPoolOptions,
    opts: PgConnectOptions,
) {
    let Setup { twilio: _twilio, server, a, account, channel, db } = setup(&opts, "sms", 100.0).await;
    seed_contacts(&db, &a.team_id, 3, 1).await;
    let c = create(&a, &channel, json!({ "tag": "promo" }), "Hi {{contact.first_name}}: reply YES for the deal").await;
    assert_eq!(act(&a, &c["id"], "start").await.0, 200);
    wait_for(&a, &c["id"], Duration::from_secs(10), |c| c["status"] == "done").await;
    let (_, inbox) = a.client.get("/api/threads").await;
    assert!(inbox["items"].as_array().unwrap().is_empty(), "not in the inbox before a reply: {inbox}");

    // A reply: the thread shows up, unread, with the campaign message for context.
    let r = post_signed(
        &server,
        "/webhooks/twilio/messages",
        &account.token,
        &inbound_params(&account, "+14155550001", &format!("SM{}", hex32()), "YES"),
    )
    .await;
    assert_twiml(&r);
    let (_, inbox) = a.client.get("/api/threads").await;
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["unread_count"], 1);
    let (_, messages) = thread_view(&a, items[0]["id"].as_str().unwrap()).await;
    let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["Hi First1: reply YES for the deal", "YES"]);
    // STOP from another: opted out, and both count.
    let r = post_signed(
        &server,
        "/webhooks/twilio/messages",
        &account.token,
        &inbound_params(&account, "+14155550002", &format!("SM{}", hex32()), "STOP"),
    )
    .await;
    assert_twiml(&r);
    let after = campaign(&a, &c["id"]).await;
    assert_eq!((after["counts"]["replied"].as_i64(), after["counts"]["opted_out"].as_i64()), (Some(2), Some(1)), "{after}");
    assert!((after["rates"]["opt_out"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9, "{after}");
    db.close().await;
    server.stop().await;
}
