//! End to end: calls to a team's number (issue 14). Signed voice webhooks answer TwiML from the
//! channel's settings (checked as XML against Twilio's documented verbs and attributes); a
//! missed call is one `call` event and one automatic SMS through the real send path, however
//! often Twilio calls back and on whichever node; a second missed call within the period and an
//! opted-out caller get no SMS; forwarding, answered calls and voicemail; the simulator's calls.

use crate::support::twilio::*;
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use web::twiml::{self, Element};
use wiremock::MockServer;

const CALLER: &str = "+14155550123";
const REPLY: &str = "Sorry we missed you {{contact.first_name}}, how can we help?";

/// The parameters of a call request as Twilio posts them, plus `extra`.
fn call_params(account: &Account, sid: &str, from: &str, extra: &[(&str, &str)]) -> Form {
    let mut p = pairs(&[
        ("AccountSid", &account.sid),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", "ringing"),
        ("Called", NUMBER),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("To", NUMBER),
    ]);
    for (k, v) in extra {
        p = with(p, k, v);
    }
    p
}

fn call_sid() -> String {
    format!("CA{}", hex32())
}

/// Posts a signed voice webhook; asserts 200 text/xml and parses the TwiML strictly, checking
/// every attribute against Twilio's documented ones.
async fn voice(server: &TestServer, path: &str, account: &Account, params: &Form) -> Vec<Element> {
    let r = post_signed(server, path, &account.token, params).await;
    assert_eq!(r.status, 200, "{path} refused: {}", r.body);
    let verbs = twiml::parse(&r.body).unwrap_or_else(|e| panic!("{path} answered bad TwiML ({e}): {}", r.body));
    for v in &verbs {
        for (name, _) in &v.attrs {
            assert!(twiml::documented(&v.name).contains(&name.as_str()), "<{}> has undocumented attribute {name}", v.name);
        }
    }
    verbs
}

fn names(verbs: &[Element]) -> Vec<&str> {
    verbs.iter().map(|v| v.name.as_str()).collect()
}

async fn settings(a: &Agent, channel: &Value, change: Value) -> Value {
    let (status, body) = a.client.patch(&format!("/api/channels/{}", channel["id"].as_str().unwrap()), change).await;
    assert_eq!(status, 200, "settings: {body}");
    body["settings"].clone()
}

/// The caller's thread (the only one with that phone): (id, view).
async fn caller_thread(a: &Agent, phone: &str) -> (String, Value) {
    let (_, threads) = a.client.get("/api/threads").await;
    let t = threads["items"].as_array().unwrap().iter().find(|t| t["contact"]["phone"] == phone).expect("the caller's thread").clone();
    let id = t["id"].as_str().unwrap().to_owned();
    let (_, view) = a.client.get(&format!("/api/threads/{id}")).await;
    (id, view)
}

async fn call_events(a: &Agent, thread: &str) -> Vec<Value> {
    let (_, body) = a.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    body["events"].as_array().unwrap().iter().filter(|e| e["type"] == "call").cloned().collect()
}

#[sqlx::test]
async fn a_missed_call_gets_one_call_event_and_one_auto_sms(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    let s = settings(&a, &channel, json!({ "missed_call_reply": REPLY, "greeting": "Thanks for calling Acme." })).await;
    assert_eq!(s["missed_call_reply_hours"], 12, "the default period: {s}");
    // Over the whole test exactly one SMS reaches Twilio.
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;

    // Nobody can pick up (no forwarding, no voicemail): greeting, hang up; the call is missed.
    let sid = call_sid();
    let verbs = voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &sid, CALLER, &[])).await;
    assert_eq!(names(&verbs), ["Say", "Hangup"]);
    assert_eq!(verbs[0].text, "Thanks for calling Acme.");

    let (thread, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["calls"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["calls"][0]["status"], "missed");
    assert_eq!(view["calls"][0]["call_sid"], sid.as_str());
    // The reply went out after the call: it is the inbox's preview; the call left one unread.
    assert_eq!(view["thread"]["last_preview"], "Sorry we missed you, how can we help?");
    assert_eq!(view["thread"]["unread_count"], 1);
    let messages = view["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "one automatic reply: {view}");
    assert_eq!(messages[0]["direction"], "outbound");
    assert_eq!(messages[0]["body"], "Sorry we missed you, how can we help?", "a caller without a name: the variable is left out");
    assert_eq!(messages[0]["author_id"], Value::Null);
    wait_for_status(&a, &thread, messages[0]["id"].as_str().unwrap(), "sent").await;

    // Twilio retries the webhook and sends the status callback: nothing more.
    voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &sid, CALLER, &[])).await;
    let done = call_params(&account, &sid, CALLER, &[("CallStatus", "no-answer")]);
    assert!(voice(&server, "/webhooks/twilio/voice/status", &account, &done).await.is_empty());
    assert_eq!(call_events(&a, &thread).await.len(), 1);

    // A second missed call within the period: a second call event, no second SMS.
    let second = call_sid();
    voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &second, CALLER, &[])).await;
    assert_eq!(call_events(&a, &thread).await.len(), 2);
    let (_, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 1, "once per period: {view}");

    // An opted-out caller: the call is logged, no SMS.
    let stopper = "+14155550124";
    assert_twiml(
        &post_signed(
            &server,
            "/webhooks/twilio/messages",
            &account.token,
            &inbound_params(&account, stopper, &format!("SM{}", hex32()), "STOP"),
        )
        .await,
    );
    voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &call_sid(), stopper, &[])).await;
    let (stopper_thread, view) = caller_thread(&a, stopper).await;
    assert_eq!(call_events(&a, &stopper_thread).await.len(), 1);
    assert_eq!(view["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "outbound").count(), 0, "{view}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(fake); // verifies: exactly one SMS
    server.stop().await;
}

#[sqlx::test]
async fn forged_and_foreign_voice_webhooks_are_refused(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let params = call_params(&account, &call_sid(), CALLER, &[]);
    for path in
        ["/webhooks/twilio/voice", "/webhooks/twilio/voice/dial", "/webhooks/twilio/voice/recording", "/webhooks/twilio/voice/status"]
    {
        let forged = post_signed(&server, path, &hex32(), &params).await;
        assert_eq!(forged.status, 403, "{path}: {}", forged.body);
        let unsigned = post_form(&server, path, None, &params).await;
        assert_eq!(unsigned.status, 403, "{path}");
    }
    // A signed request with a sid that is not a CallSid is refused, not stored.
    let bad = voice_code(&server, &account, &with(params.clone(), "CallSid", "not-a-sid")).await;
    assert_eq!(bad, 422);
    assert_nothing_visible(&a).await;
    server.stop().await;
}

async fn voice_code(server: &TestServer, account: &Account, params: &Form) -> u16 {
    post_signed(server, "/webhooks/twilio/voice", &account.token, params).await.status
}

#[sqlx::test]
async fn forwarded_calls_ring_then_are_answered_missed_or_left_as_voicemail(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let server = TestServer::start_with(&opts, |c| c.twilio_api_base = twilio.uri()).await;
    let a = server.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    settings(&a, &channel, json!({ "forward_to": "+1 (415) 555-0100", "ring_seconds": 15, "missed_call_reply": "Call you back soon!" }))
        .await;
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;

    // Forwarded: <Dial timeout action> to the E.164 number.
    let answered = call_sid();
    let verbs = voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &answered, CALLER, &[])).await;
    assert_eq!(names(&verbs), ["Dial"]);
    assert_eq!(verbs[0].text, "+14155550100");
    assert_eq!(verbs[0].attr("timeout"), Some("15"));
    assert_eq!(verbs[0].attr("action"), Some("/webhooks/twilio/voice/dial"));
    // Someone picked up and talked 65 s: answered, no SMS; the status callback changes nothing.
    let dial = call_params(
        &account,
        &answered,
        CALLER,
        &[("CallStatus", "in-progress"), ("DialCallStatus", "completed"), ("DialCallDuration", "65")],
    );
    assert_eq!(names(&voice(&server, "/webhooks/twilio/voice/dial", &account, &dial).await), ["Hangup"]);
    voice(&server, "/webhooks/twilio/voice/status", &account, &call_params(&account, &answered, CALLER, &[("CallStatus", "completed")]))
        .await;
    let (thread, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["calls"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["calls"][0]["status"], "answered");
    assert_eq!(view["calls"][0]["duration"], 65);
    assert_eq!(view["thread"]["last_preview"], "📞 Call (1:05)");
    assert!(view["messages"].as_array().unwrap().is_empty());

    // Nobody picked up (busy): missed, one SMS.
    let busy = call_sid();
    voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &busy, CALLER, &[])).await;
    let dial = call_params(&account, &busy, CALLER, &[("DialCallStatus", "busy")]);
    assert_eq!(names(&voice(&server, "/webhooks/twilio/voice/dial", &account, &dial).await), ["Hangup"]);
    let (_, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["calls"][1]["status"], "missed");
    let sms = view["messages"].as_array().unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["body"], "Call you back soon!");
    wait_for_status(&a, &thread, sms[0]["id"].as_str().unwrap(), "sent").await;

    // With voicemail on, an unanswered forward offers <Record>; the recording is the outcome.
    settings(&a, &channel, json!({ "voicemail": true })).await;
    let vm = call_sid();
    voice(&server, "/webhooks/twilio/voice", &account, &call_params(&account, &vm, CALLER, &[])).await;
    let verbs =
        voice(&server, "/webhooks/twilio/voice/dial", &account, &call_params(&account, &vm, CALLER, &[("DialCallStatus", "no-answer")]))
            .await;
    assert_eq!(names(&verbs), ["Say", "Record"]);
    assert_eq!(verbs[1].attr("action"), Some("/webhooks/twilio/voice/recording"));
    assert_eq!(verbs[1].attr("playBeep"), Some("true"));
    let url = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE123";
    let rec = call_params(&account, &vm, CALLER, &[("RecordingUrl", url), ("RecordingDuration", "12"), ("RecordingSid", "RE123")]);
    voice(&server, "/webhooks/twilio/voice/recording", &account, &rec).await;
    voice(&server, "/webhooks/twilio/voice/status", &account, &call_params(&account, &vm, CALLER, &[("CallStatus", "completed")])).await;
    let (_, view) = caller_thread(&a, CALLER).await;
    let calls = view["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "{view}");
    assert_eq!(calls[2]["status"], "voicemail");
    assert_eq!(calls[2]["recording_url"], url);
    assert_eq!(calls[2]["duration"], 12);
    assert_eq!(view["messages"].as_array().unwrap().len(), 1, "within the period: no second SMS");

    // Settings are checked.
    let (status, err) = a.client.patch(&format!("/api/channels/{}", channel["id"].as_str().unwrap()), json!({ "ring_seconds": 1 })).await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = a
        .client
        .patch(&format!("/api/channels/{}", channel["id"].as_str().unwrap()), json!({ "missed_call_reply": "Hi {{ nope }}" }))
        .await;
    assert_eq!(status, 422, "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(fake);
    server.stop().await;
}

#[sqlx::test]
async fn one_call_retried_on_two_nodes_is_recorded_and_answered_once(_p: PgPoolOptions, opts: PgConnectOptions) {
    let twilio = MockServer::start().await;
    let url = db_url(&opts);
    let one = TestServer::start_on(&url, |c| c.twilio_api_base = twilio.uri()).await;
    let two = TestServer::start_on(&url, |c| c.twilio_api_base = twilio.uri()).await;
    let a = one.admin("Alice").await;
    let account = Account::new();
    let channel = add_channel(&a, "sms", &account, None).await;
    settings(&a, &channel, json!({ "forward_to": "+14155550100", "missed_call_reply": REPLY })).await;
    let fake = accepts_sends(&account).expect(1).named("sends").mount_as_scoped(&twilio).await;

    let sid = call_sid();
    voice(&one, "/webhooks/twilio/voice", &account, &call_params(&account, &sid, CALLER, &[])).await;
    let dial = call_params(&account, &sid, CALLER, &[("DialCallStatus", "no-answer")]);
    let status = call_params(&account, &sid, CALLER, &[("CallStatus", "completed")]);
    // The dial action and the status callback, each twice, on both nodes at once.
    let (r1, r2, r3, r4) = tokio::join!(
        voice(&one, "/webhooks/twilio/voice/dial", &account, &dial),
        voice(&two, "/webhooks/twilio/voice/dial", &account, &dial),
        voice(&one, "/webhooks/twilio/voice/status", &account, &status),
        voice(&two, "/webhooks/twilio/voice/status", &account, &status),
    );
    let _ = (r1, r2, r3, r4);
    let (thread, view) = caller_thread(&a, CALLER).await;
    assert_eq!(call_events(&a, &thread).await.len(), 1, "{view}");
    assert_eq!(view["messages"].as_array().unwrap().len(), 1, "{view}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(fake);
    one.stop().await;
    two.stop().await;
}

#[sqlx::test]
async fn the_simulator_places_calls_through_the_signed_webhooks(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let (_, channels) = a.client.get("/api/channels").await;
    let sms = channels["channels"].as_array().unwrap().iter().find(|c| c["kind"] == "sms").unwrap().clone();
    settings(&a, &sms, json!({ "voicemail": true, "missed_call_reply": "We'll call you back." })).await;

    // No forwarding: nobody can pick up, so the caller leaves a voicemail.
    let (status, body) = a.client.post("/api/simulator/call", json!({ "from": CALLER, "outcome": "voicemail", "duration": 9 })).await;
    assert_eq!(status, 202, "{body}");
    let (_, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["calls"][0]["status"], "voicemail", "{view}");
    assert_eq!(view["calls"][0]["duration"], 9);
    assert!(view["calls"][0]["recording_url"].as_str().unwrap().ends_with("/static/sim/voicemail.wav"));
    assert_eq!(view["messages"][0]["body"], "We'll call you back.");

    // Forwarded and answered.
    settings(&a, &sms, json!({ "forward_to": "+14155550100" })).await;
    let (status, body) = a.client.post("/api/simulator/call", json!({ "from": CALLER, "outcome": "answered" })).await;
    assert_eq!(status, 202, "{body}");
    let (_, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["calls"][1]["status"], "answered", "{view}");
    assert_eq!(view["calls"][1]["duration"], 42);
    let (status, _) = a.client.post("/api/simulator/call", json!({ "from": "nope", "outcome": "missed" })).await;
    assert_eq!(status, 422);
    server.stop().await;
}

#[sqlx::test]
async fn a_missed_call_leaves_one_callback_follow_up_done_from_the_thread(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let me = a.id.clone();
    // Two missed calls: one callback while it is pending.
    for _ in 0..2 {
        let (status, body) = a.client.post("/api/simulator/call", json!({ "from": CALLER, "outcome": "missed" })).await;
        assert_eq!(status, 202, "{body}");
    }
    let (thread, view) = caller_thread(&a, CALLER).await;
    let follow_ups = view["follow_ups"].as_array().unwrap();
    assert_eq!(follow_ups.len(), 1, "{view}");
    let callback = &follow_ups[0];
    assert_eq!(callback["type"], "callback");
    assert_eq!(callback["status"], "pending");
    assert_eq!(callback["thread_id"], thread.as_str());
    assert_eq!(callback["note"], format!("Call back {CALLER}: missed call"));
    assert_eq!(callback["call_sid"], view["calls"][0]["call_sid"]);

    // Unassigned: in "mine or nobody's", not in "mine".
    let (_, mine) = a.client.get("/api/follow-ups?assignee=me&status=pending").await;
    assert_eq!(mine["items"], json!([]));
    let (_, open) = a.client.get("/api/follow-ups?assignee=me_or_none&status=pending").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1, "{open}");

    // Written down by hand for me, due in two hours; a page of one has a cursor to the next.
    let due = (time::OffsetDateTime::now_utc() + time::Duration::hours(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, manual) = a
        .client
        .post(
            "/api/follow-ups",
            json!({ "thread_id": thread, "type": "manual", "due_at": due, "assignee_id": me, "note": "Send the quote" }),
        )
        .await;
    assert_eq!(status, 201, "{manual}");
    let (_, mine) = a.client.get("/api/follow-ups?assignee=me&status=pending").await;
    assert_eq!(mine["items"][0]["id"], manual["id"]);
    let (_, first) = a.client.get("/api/follow-ups?assignee=me_or_none&limit=1").await;
    assert_eq!(first["items"][0]["id"], callback["id"], "soonest due first");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = a.client.get(&format!("/api/follow-ups?assignee=me_or_none&limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["id"], manual["id"]);

    // Done from the thread: stamped, in the thread's log, out of the pending list.
    let (status, done) =
        a.client.patch(&format!("/api/follow-ups/{}", callback["id"].as_str().unwrap()), json!({ "status": "done" })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "done");
    assert_eq!(done["completed_by"], me.as_str());
    let (_, events) = a.client.get(&format!("/api/threads/{thread}/events?after=0")).await;
    let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"follow_up.created") && kinds.contains(&"follow_up.updated"), "{kinds:?}");
    let (_, open) = a.client.get("/api/follow-ups?assignee=me_or_none&status=pending").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    // A third missed call, with the callback done: a new one.
    a.client.post("/api/simulator/call", json!({ "from": CALLER, "outcome": "missed" })).await;
    let (_, view) = caller_thread(&a, CALLER).await;
    assert_eq!(view["follow_ups"].as_array().unwrap().iter().filter(|f| f["status"] == "pending").count(), 2);

    // Refusals.
    let far = (time::OffsetDateTime::now_utc() + time::Duration::days(800)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, _) = a.client.post("/api/follow-ups", json!({ "thread_id": thread, "type": "manual", "due_at": far })).await;
    assert_eq!(status, 422);
    let (status, _) = a.client.post("/api/follow-ups", json!({ "thread_id": uuid::Uuid::new_v4(), "type": "manual", "due_at": due })).await;
    assert_eq!(status, 404);
    let (status, _) = a
        .client
        .post("/api/follow-ups", json!({ "thread_id": thread, "type": "manual", "due_at": due, "assignee_id": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!(status, 422);
    let (status, _) = a.client.patch(&format!("/api/follow-ups/{}", uuid::Uuid::new_v4()), json!({ "status": "done" })).await;
    assert_eq!(status, 404);
    server.stop().await;
}
