//! Notifications through the whole server: a mention, an assignment and a new inbound message
//! each store exactly one notification, delivered live to both of the user's tabs (two
//! sockets) with the same unread count; marking read reaches both tabs; private mentions,
//! one's own acts and muted kinds notify nobody; inbound on unassigned threads is opt-in.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(600);

/// The next `notification.created` on both tabs: the same notification and count on each.
async fn both(tabs: &mut [Ws; 2]) -> Value {
    let a = tabs[0].expect_data("notification.created", WAIT).await;
    let b = tabs[1].expect_data("notification.created", WAIT).await;
    assert_eq!(a, b, "every tab hears the same");
    a
}

#[sqlx::test]
async fn a_mention_an_assignment_and_an_inbound_each_notify_once_on_every_tab(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let bob = server.agent(&ana, "Bob").await;
    let thread = ana.thread_with("Carol", "+14155550131").await;
    let mut tabs = [bob.socket(&server).await, bob.socket(&server).await];
    for tab in &mut tabs {
        tab.subscribe(&format!("private-user-{}", bob.id)).await;
    }

    // A mention in a public note.
    let note = json!({ "body": "@Bob can you take this?", "visibility": "public" });
    assert_eq!(ana.client.post(&format!("/api/threads/{thread}/notes"), note).await.0, 201);
    let got = both(&mut tabs).await;
    assert_eq!((got["notification"]["kind"].as_str(), got["unread"].as_i64()), (Some("mention"), Some(1)), "{got}");
    assert_eq!(got["notification"]["thread_id"], thread.as_str());
    assert_eq!(got["notification"]["actor_name"], "Ana");
    assert_eq!(got["notification"]["data"]["contact"]["name"], "Carol");

    // Assigned to Bob by Ana.
    assert_eq!(ana.client.patch(&format!("/api/threads/{thread}"), json!({ "assignee_id": bob.id })).await.0, 200);
    let got = both(&mut tabs).await;
    assert_eq!((got["notification"]["kind"].as_str(), got["unread"].as_i64()), (Some("assigned"), Some(2)), "{got}");

    // A new inbound message on Bob's thread.
    let inbound = json!({ "from": "+14155550131", "channel": "sms", "body": "is anyone there?" });
    assert_eq!(ana.client.post("/api/simulator/inbound", inbound).await.0, 202);
    let got = both(&mut tabs).await;
    assert_eq!((got["notification"]["kind"].as_str(), got["unread"].as_i64()), (Some("inbound"), Some(3)), "{got}");
    assert_eq!(got["notification"]["data"]["preview"], "is anyone there?");

    // Counted once: nothing more arrives, and the list has exactly those three.
    for tab in &mut tabs {
        tab.expect_none("notification.created", QUIET).await;
    }
    let (code, list) = bob.client.get("/api/notifications").await;
    assert_eq!(code, 200);
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["inbound", "assigned", "mention"], "{list}");
    assert_eq!(list["unread"], 3);
    assert!(list["items"][0]["read_at"].is_null() && list["items"][0]["created_at"].is_string());
    assert!(list["next_cursor"].is_null());

    // Ana heard nothing (she did all of it).
    let (_, hers) = ana.client.get("/api/notifications").await;
    assert_eq!(hers["unread"], 0, "{hers}");

    // Marking one read, then all, reaches both tabs.
    let first = list["items"][0]["id"].clone();
    let (code, read) = bob.client.post("/api/notifications/read", json!({ "ids": [first] })).await;
    assert_eq!((code, read["unread"].as_i64()), (200, Some(2)), "{read}");
    for tab in &mut tabs {
        let heard = tab.expect_data("notification.read", WAIT).await;
        assert_eq!((heard["unread"].as_i64(), heard["ids"][0].clone()), (Some(2), first.clone()));
    }
    let (_, read) = bob.client.post("/api/notifications/read", json!({ "all": true })).await;
    assert_eq!(read["unread"], 0);
    for tab in &mut tabs {
        assert_eq!(tab.expect_data("notification.read", WAIT).await["unread"], 0);
    }
    let (code, bad) = bob.client.post("/api/notifications/read", json!({})).await;
    assert_eq!((code, bad["error"]["field"].as_str()), (422, Some("ids")));
}

#[sqlx::test]
async fn private_mentions_own_acts_and_muted_kinds_notify_nobody_and_unassigned_is_opt_in(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let bob = server.agent(&ana, "Bob").await;
    let thread = ana.thread_with("Carol", "+14155550132").await;
    let mut tab = bob.socket(&server).await;
    tab.subscribe(&format!("private-user-{}", bob.id)).await;

    // A private note's mention, and Bob taking the thread himself.
    let note = json!({ "body": "@Bob not for you", "visibility": "private" });
    assert_eq!(ana.client.post(&format!("/api/threads/{thread}/notes"), note).await.0, 201);
    assert_eq!(bob.client.patch(&format!("/api/threads/{thread}"), json!({ "assignee_id": bob.id })).await.0, 200);
    tab.expect_none("notification.created", QUIET).await;

    // Preferences: the defaults, then inbound muted.
    let (code, prefs) = bob.client.get("/api/notifications/preferences").await;
    assert_eq!(code, 200);
    assert_eq!(
        prefs,
        json!({ "kinds": ["mention", "assigned", "inbound", "snooze_ended", "send_failed", "follow_up_due"], "inbound_unassigned": false, "browser": false })
    );
    let muted = json!({ "kinds": ["mention"], "inbound_unassigned": false, "browser": true });
    let (code, saved) = bob.client.put_json("/api/notifications/preferences", muted.clone()).await;
    assert_eq!((code, &saved), (200, &muted));
    assert_eq!(tab.expect_data("notification.preferences", WAIT).await["preferences"], muted, "other tabs follow");
    let (code, bad) = bob.client.put_json("/api/notifications/preferences", json!({ "kinds": ["everything"] })).await;
    assert_eq!((code, bad["error"]["field"].as_str()), (422, Some("kinds")));
    ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550132", "channel": "sms", "body": "muted" })).await;
    tab.expect_none("notification.created", QUIET).await;

    // Inbound on an unassigned thread: only for those who opted in.
    let open = ana.thread_with("Dora", "+14155550133").await;
    let opt_in = json!({ "kinds": ["inbound"], "inbound_unassigned": true, "browser": false });
    assert_eq!(bob.client.put_json("/api/notifications/preferences", opt_in).await.0, 200);
    ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550133", "channel": "sms", "body": "anyone?" })).await;
    let got = tab.expect_data("notification.created", WAIT).await;
    assert_eq!((got["notification"]["kind"].as_str(), got["notification"]["thread_id"].as_str()), (Some("inbound"), Some(open.as_str())));
    let (_, hers) = ana.client.get("/api/notifications").await;
    assert_eq!(hers["unread"], 0, "Ana did not opt in: {hers}");
}

#[sqlx::test]
async fn a_follow_up_that_comes_due_reminds_its_assignee_once_and_again_when_moved(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    // Two nodes (linked by Redis) with schedulers polling fast: both look for due follow-ups;
    // each is told once, by whichever node claims it.
    let fast = |c: &mut switchboard::Config| {
        c.scheduler_poll_ms = 100;
        c.redis_url = "redis://127.0.0.1:6379/".into();
    };
    let server = TestServer::start_with(&opts, fast).await;
    let other = TestServer::start_with(&opts, fast).await;
    let ana = server.admin("Ana").await;
    let bob = server.agent(&ana, "Bob").await;
    let thread = ana.thread_with("Carol", "+14155550132").await;
    let mut tab = bob.socket(&server).await;
    tab.subscribe(&format!("private-user-{}", bob.id)).await;

    let in_a_second = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let due = in_a_second.format(&time::format_description::well_known::Rfc3339).unwrap();
    let new = json!({ "thread_id": thread, "type": "callback", "due_at": due, "assignee_id": bob.id, "note": "about the refund" });
    let (code, follow_up) = ana.client.post("/api/follow-ups", new).await;
    assert_eq!(code, 201, "{follow_up}");
    // Not before it is due.
    tab.expect_none("notification.created", Duration::from_millis(500)).await;

    let got = tab.expect_data("notification.created", WAIT).await;
    let n = &got["notification"];
    assert_eq!((n["kind"].as_str(), n["thread_id"].as_str()), (Some("follow_up_due"), Some(thread.as_str())), "{got}");
    assert_eq!(n["data"]["follow_up_id"], follow_up["id"]);
    assert_eq!(n["data"]["preview"], "Call back: about the refund");
    assert_eq!(n["data"]["contact"]["name"], "Carol");
    tab.expect_none("notification.created", QUIET).await;

    // Moved later, it is reminded again at its new time; done, it is not.
    let later =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let id = follow_up["id"].as_str().unwrap();
    assert_eq!(bob.client.patch(&format!("/api/follow-ups/{id}"), json!({ "due_at": later })).await.0, 200);
    let again = tab.expect_data("notification.created", WAIT).await;
    assert_eq!(again["notification"]["kind"], "follow_up_due");
    assert_ne!(again["notification"]["id"], n["id"]);
    let soon =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(bob.client.patch(&format!("/api/follow-ups/{id}"), json!({ "due_at": soon, "status": "done" })).await.0, 200);
    tab.expect_none("notification.created", Duration::from_millis(2000)).await;

    let (_, list) = bob.client.get("/api/notifications").await;
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["follow_up_due", "follow_up_due"], "{list}");
    let (_, hers) = ana.client.get("/api/notifications").await;
    assert_eq!(hers["unread"], 0, "Ana is not its assignee");
    other.stop().await;
    server.stop().await;
}
