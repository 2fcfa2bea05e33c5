//! Campaigns a compliant marketer sends, end to end against a fake Twilio that counts requests:
//! a WhatsApp campaign with an approved template reaches contacts outside the 24-hour window
//! with exactly one request each (ContentSid + ContentVariables, no Body), a contact missing a
//! value is skipped `missing_variables`; quiet hours hold the recipients for whom it is night
//! (by their `time_zone` field or their number's country) and send the others.
//!
//! The server's clock is the wall clock: the quiet-hours test picks its window around the
//! current UTC hour, so it holds whatever the time of day it runs.

use crate::campaigns::{Setup, act, campaign, seed_contacts, setup, wait_for};
use crate::support::twilio::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::MockServer;

/// The carrier's POSTs, as forms.
async fn posts(twilio: &MockServer) -> Vec<Form> {
    twilio.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").map(form_of).collect()
}

fn field(form: &Form, key: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[sqlx::test]
async fn a_whatsapp_campaign_with_an_approved_template_reaches_contacts_outside_the_window_once_each(
    _p: PgPoolOptions,
    opts: PgConnectOptions,
) {
    let Setup { twilio, server, a, account: _, channel, db } = setup(&opts, "whatsapp", 500.0).await;
    // Three contacts who never wrote (all outside the window); two have a renewal date.
    let ids = seed_contacts(&db, &a.team_id, 3, 1).await;
    sqlx::query("UPDATE contacts SET custom_fields = jsonb_build_object('renewal', 'May ' || right(phone, 1)) WHERE id = ANY($1::uuid[])")
        .bind(&ids[0..2])
        .execute(&db)
        .await
        .unwrap();

    // An approved template: {{1}} defaults to the first name, {{2}} is the campaign's fixed
    // value, {{3}} defaults to a contact field the third contact lacks.
    let sid = format!("HX{}", hex32());
    let vars = json!([
        { "key": "1", "default": "{{contact.first_name}}" },
        { "key": "2" },
        { "key": "3", "default": "{{contact.renewal}}" },
    ]);
    let (status, template) = a
        .client
        .post(
            "/api/templates",
            json!({ "name": "renewal", "channel_kind": "whatsapp", "content_sid": sid,
                    "body": "Hi {{1}}, use code {{2}} before {{3}}.", "variables": vars }),
        )
        .await;
    assert_eq!(status, 201, "{template}");
    let (status, sms_template) =
        a.client.post("/api/templates", json!({ "name": "sms one", "channel_kind": "sms", "body": "Hi {{1}}" })).await;
    assert_eq!(status, 201, "{sms_template}");

    // An SMS template does not fit a WhatsApp number; two kinds of content at once are refused.
    let base = json!({ "name": "Renewals", "channel_id": channel["id"], "audience": { "tag": "promo" } });
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, refused) = a.client.post("/api/campaigns", with(json!({ "content_template_id": sms_template["id"] }))).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("content_template_id")), "{refused}");
    let (status, refused) = a.client.post("/api/campaigns", with(json!({ "content_template_id": template["id"], "body": "Hello" }))).await;
    assert_eq!(status, 422, "{refused}");
    let (status, refused) =
        a.client.post("/api/campaigns", with(json!({ "content_template_id": template["id"], "content_variables": { "9": "x" } }))).await;
    assert_eq!(status, 422, "an unknown key: {refused}");

    let (status, c) = a
        .client
        .post("/api/campaigns", with(json!({ "content_template_id": template["id"], "content_variables": { "2": "SPRING" } })))
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!((c["content_template_id"].clone(), c["content_variables"].clone()), (template["id"].clone(), json!({ "2": "SPRING" })));

    // The preview renders each contact's message and names what the third lacks.
    let (status, preview) = a.client.get(&format!("/api/campaigns/{}/preview", c["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{preview}");
    let items = preview["items"].as_array().unwrap();
    assert_eq!(items[0]["text"], "Hi First1, use code SPRING before May 1.", "{preview}");
    assert_eq!(items[2]["missing_variables"], json!(["3"]), "{preview}");

    let (status, started) = act(&a, &c["id"], "start").await;
    assert_eq!(status, 200, "{started}");
    let done = wait_for(&a, &c["id"], Duration::from_secs(20), |c| c["status"] == "done").await;
    let k = &done["counts"];
    assert_eq!((k["sent"].as_i64(), k["skipped"].as_i64()), (Some(2), Some(1)), "{done}");
    assert_eq!(k["skipped_by"], json!({ "missing_variables": 1 }), "not skipped for the window: {done}");

    // Exactly one request per sent contact: ContentSid and its values, no Body.
    let forms = posts(&twilio).await;
    assert_eq!(forms.len(), 2, "{forms:?}");
    for (i, to) in [(1, "+14155550001"), (2, "+14155550002")] {
        let form = forms.iter().find(|f| field(f, "To").as_deref() == Some(&format!("whatsapp:{to}"))).expect("sent once");
        assert_eq!(field(form, "ContentSid").as_deref(), Some(sid.as_str()));
        let values: Value = serde_json::from_str(&field(form, "ContentVariables").expect("ContentVariables")).unwrap();
        assert_eq!(values, json!({ "1": format!("First{i}"), "2": "SPRING", "3": format!("May {i}") }));
        assert_eq!(field(form, "Body"), None, "{form:?}");
    }
    // The thread shows the rendered text.
    let body: String = sqlx::query_scalar(
        "SELECT m.body FROM messages m JOIN threads t ON t.id = m.thread_id JOIN contacts c ON c.id = t.contact_id
         WHERE c.phone = '+14155550002' AND m.campaign_id IS NOT NULL",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(body, "Hi First2, use code SPRING before May 2.");
    db.close().await;
    server.stop().await;
}

#[sqlx::test]
async fn quiet_hours_hold_the_contacts_for_whom_it_is_night_and_send_the_others(_p: PgPoolOptions, opts: PgConnectOptions) {
    let Setup { twilio, server, a, account: _, channel, db } = setup(&opts, "sms", 500.0).await;
    let ids = seed_contacts(&db, &a.team_id, 4, 1).await;
    // Quiet from an hour before the current UTC hour to three hours after it. Held: a contact
    // whose `time_zone` field says UTC, and a UK number (UTC or UTC+1: quiet either way). Sent:
    // a contact in Asia/Kolkata (UTC+5:30) by its field, and a Japanese number (UTC+9).
    let hour: i64 = sqlx::query_scalar("SELECT extract(hour FROM now() AT TIME ZONE 'UTC')::bigint").fetch_one(&db).await.unwrap();
    let quiet = json!({ "start": format!("{:02}:00", (hour + 23) % 24), "end": format!("{:02}:00", (hour + 3) % 24) });
    for (id, phone, zone) in [
        (&ids[0], None, Some("UTC")),
        (&ids[1], Some("+447400123456"), None),
        (&ids[2], None, Some("Asia/Kolkata")),
        (&ids[3], Some("+819012345678"), None),
    ] {
        sqlx::query(
            "UPDATE contacts SET phone = COALESCE($2, phone),
                    custom_fields = CASE WHEN $3::text IS NULL THEN '{}' ELSE jsonb_build_object('time_zone', $3::text) END
             WHERE id = $1::uuid",
        )
        .bind(id)
        .bind(phone)
        .bind(zone)
        .execute(&db)
        .await
        .unwrap();
    }
    let (status, c) = a
        .client
        .post(
            "/api/campaigns",
            json!({ "name": "Night owls", "channel_id": channel["id"], "body": "Hi {{contact.first_name}}",
                    "audience": { "tag": "promo" }, "quiet_hours": quiet }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["quiet_hours"], quiet);
    let (status, bad) = a
        .client
        .patch(&format!("/api/campaigns/{}", c["id"].as_str().unwrap()), json!({ "quiet_hours": { "start": "21:00", "end": "21:00" } }))
        .await;
    assert_eq!((status, bad["error"]["field"].as_str()), (422, Some("quiet_hours")), "{bad}");

    assert_eq!(act(&a, &c["id"], "start").await.0, 200);
    let running = wait_for(&a, &c["id"], Duration::from_secs(20), |c| c["counts"]["sent"] == 2 && c["counts"]["held"] == 2).await;
    assert_eq!(running["status"], "running", "the held ones keep it running: {running}");
    assert_eq!(running["counts"]["queued"], 2, "{running}");
    // The ETA waits for the morning: at least until the window's end, an hour or more away.
    assert!(running["rates"]["eta_seconds"].as_u64().unwrap() >= 3600, "{running}");
    let mut sent: Vec<String> = posts(&twilio).await.iter().filter_map(|f| field(f, "To")).collect();
    sent.sort();
    assert_eq!(sent, vec!["+14155550003".to_owned(), "+819012345678".to_owned()]);

    // The held ones wait in the queue until their morning, and no claim reads them meanwhile.
    let held = |db: PgPool| async move {
        let rows: Vec<(String, time::OffsetDateTime, time::OffsetDateTime)> =
            sqlx::query_as("SELECT phone, not_before, updated_at FROM campaign_recipients WHERE status = 'queued' ORDER BY phone")
                .fetch_all(&db)
                .await
                .unwrap();
        rows
    };
    let before = held(db.clone()).await;
    assert_eq!(before.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["+14155550001", "+447400123456"]);
    let now = time::OffsetDateTime::now_utc();
    for (phone, not_before, _) in &before {
        let wait = *not_before - now;
        assert!(wait > time::Duration::minutes(55) && wait <= time::Duration::hours(4), "{phone} held until {not_before}");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(held(db.clone()).await, before, "held recipients were claimed again");
    assert_eq!(posts(&twilio).await.len(), 2);
    let again = campaign(&a, &c["id"]).await;
    assert_eq!(again["counts"]["sent"], 2, "{again}");
    db.close().await;
    server.stop().await;
}

#[sqlx::test]
async fn a_template_a_campaign_waits_for_is_kept_and_a_campaign_that_can_never_start_fails_saying_why(
    _p: PgPoolOptions,
    opts: PgConnectOptions,
) {
    let Setup { twilio, server, a, account: _, channel, db } = setup(&opts, "whatsapp", 500.0).await;
    seed_contacts(&db, &a.team_id, 2, 1).await;
    let template = |name: &str| {
        json!({ "name": name, "channel_kind": "whatsapp", "content_sid": format!("HX{}", hex32()),
                "body": "Hi {{1}}, use code {{2}}.", "variables": [{ "key": "1", "default": "{{contact.first_name}}" }, { "key": "2" }] })
    };
    let campaign_with = |t: &Value, send_at: Option<String>| {
        json!({ "name": "Renewals", "channel_id": channel["id"], "audience": { "tag": "promo" }, "send_at": send_at,
                "content_template_id": t["id"], "content_variables": { "2": "SPRING" } })
    };

    // A draft does not hold its template: deleted, the draft's start says which field to fix.
    let (status, loose) = a.client.post("/api/templates", template("loose")).await;
    assert_eq!(status, 201, "{loose}");
    let (status, draft) = a.client.post("/api/campaigns", campaign_with(&loose, None)).await;
    assert_eq!(status, 201, "{draft}");
    let (status, gone) = a.client.delete(&format!("/api/templates/{}", loose["id"].as_str().unwrap())).await;
    assert_eq!(status, 204, "{gone}");
    let (status, refused) = act(&a, &draft["id"], "start").await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("content_template_id")), "{refused}");

    // A scheduled campaign holds its template: deleting it is refused, naming the campaign.
    let (status, kept) = a.client.post("/api/templates", template("kept")).await;
    assert_eq!(status, 201, "{kept}");
    let send_at =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(3)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, c) = a.client.post("/api/campaigns", campaign_with(&kept, Some(send_at))).await;
    assert_eq!(status, 201, "{c}");
    let (status, scheduled) = act(&a, &c["id"], "start").await;
    assert_eq!((status, scheduled["status"].as_str()), (200, Some("scheduled")), "{scheduled}");
    let (status, refused) = a.client.delete(&format!("/api/templates/{}", kept["id"].as_str().unwrap())).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("Renewals"), "{refused}");

    // The template changes under it (its second variable is gone, the campaign's value for it
    // no longer fits): at its time the campaign cannot start, ever. It fails with the reason
    // instead of being tried again on every tick, and nothing reaches the carrier.
    let (status, edited) = a
        .client
        .patch(
            &format!("/api/templates/{}", kept["id"].as_str().unwrap()),
            json!({ "body": "Hi {{1}}.", "variables": [{ "key": "1", "default": "{{contact.first_name}}" }] }),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let failed = wait_for(&a, &c["id"], Duration::from_secs(15), |c| c["status"] != "scheduled").await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure"].as_str().is_some_and(|f| f.contains("content_variables")), "{failed}");
    assert!(failed["finished_at"].is_string(), "{failed}");
    assert_eq!(posts(&twilio).await.len(), 0);
    // A failed campaign no longer holds its template.
    let (status, gone) = a.client.delete(&format!("/api/templates/{}", kept["id"].as_str().unwrap())).await;
    assert_eq!(status, 204, "{gone}");
    db.close().await;
    server.stop().await;
}
