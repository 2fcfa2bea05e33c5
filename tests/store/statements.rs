//! How many statements a send and an inbound message cost (the store's counter).

use crate::*;
use actors::domain::*;
use actors::ports::*;
use serde_json::json;
use sqlx::PgPool;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

#[sqlx::test]
async fn a_send_now_reaches_sent_in_three_statements(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    // In the order the thread actor makes them.
    let before = store.statements();
    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: Some(p.user.id),
        body: "on my way".into(),
        media_urls: vec!["https://example.test/a.png".into()],
        send_at: None,
        cancel_on_reply: false,
        content: None,
    };
    let created = store.create_outbound(new).await.unwrap();
    let out = store.begin_send(created.value.id).await.unwrap().expect("still ours to send");
    let sent = store.record_send(created.value.id, SendOutcome::Sent { sid: "SMsend".into() }).await.unwrap().unwrap();
    let used = store.statements() - before;
    assert!(used <= 3, "send-now took {used} statements");

    assert_eq!(created.value.status, MessageStatus::Queued);
    assert_eq!(created.events[0].kind, event::MESSAGE_CREATED);
    assert_eq!(created.events[0].actor_id, Some(p.user.id));
    assert_eq!(created.thread.last_preview, "on my way");
    assert_eq!(created.thread.last_message_at, Some(created.value.created_at));
    assert_events_match(&store, &p, &created).await;
    assert_eq!((out.to.as_str(), out.opted_out, out.channel.kind), ("+14155550100", false, ChannelKind::Sms));
    assert_eq!(out.message.id, created.value.id);
    assert_eq!(sent.value.status, MessageStatus::Sent);
    assert!(sent.value.sent_at.is_some());
    assert_eq!(sent.events[0].seq, created.events[0].seq + 1);
    // The carrier's answer: its event carries the status change and the sid.
    assert_eq!(sent.events[0].data, sent.value.answer_change());
    assert_eq!(sent.events[0].data["provider_sid"], "SMsend");
    assert!(sent.events[0].data.get("body").is_none());
    assert_log_matches(&store, &p, &sent).await;
    // Answered: no longer ours to send.
    assert!(store.begin_send(created.value.id).await.unwrap().is_none());

    // A delivery callback is one statement too, its receipt kept by it.
    let before = store.statements();
    let params = json!({ "MessageSid": "SMsend", "MessageStatus": "delivered" });
    let delivered =
        store.apply_status("SMsend", MessageStatus::Delivered, None, None, params.clone(), Some(p.team.id)).await.unwrap().unwrap();
    assert_eq!(store.statements() - before, 1);
    assert_eq!(delivered.value.status, MessageStatus::Delivered);
    assert_status_event_matches(&store, &p, &delivered).await;
    // A replay changes nothing and keeps no second receipt; a late one is kept.
    let again = store.apply_status("SMsend", MessageStatus::Delivered, None, None, params.clone(), Some(p.team.id)).await.unwrap();
    assert!(again.is_none());
    let late = json!({ "MessageSid": "SMsend", "MessageStatus": "sent" });
    assert!(store.apply_status("SMsend", MessageStatus::Sent, None, None, late, Some(p.team.id)).await.unwrap().is_none());
    let kept: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT kind, params FROM webhook_receipts WHERE message_sid = 'SMsend' ORDER BY received_at, id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    assert_eq!(
        kept.iter().map(|(k, p)| (k.as_str(), p["MessageStatus"].as_str().unwrap())).collect::<Vec<_>>(),
        [("status", "delivered"), ("status", "sent")]
    );

    // A scheduled message counts in the summary and does not move the thread up the inbox.
    let later = OffsetDateTime::now_utc() + Duration::hours(1);
    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "later".into(),
        media_urls: vec![],
        send_at: Some(later),
        cancel_on_reply: true,
        content: None,
    };
    let scheduled = store.create_outbound(new).await.unwrap();
    assert_eq!(scheduled.thread.scheduled_count, 1);
    assert_eq!(scheduled.thread.last_preview, "on my way");
    assert_events_match(&store, &p, &scheduled).await;
    assert!(store.begin_send(scheduled.value.id).await.unwrap().is_none(), "a scheduled message is not taken");

    // Another team's thread, or none, is not found.
    let new = NewOutbound {
        team: actors::ids::TeamId::new(),
        thread,
        author: None,
        body: "x".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
        content: None,
    };
    assert!(matches!(store.create_outbound(new).await.unwrap_err(), actors::DomainError::NotFound("thread")));
}

#[sqlx::test]
async fn an_inbound_message_is_one_statement(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let at = OffsetDateTime::now_utc() + Duration::hours(1);
    let new = |cancel| NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "later".into(),
        media_urls: vec![],
        send_at: Some(at),
        cancel_on_reply: cancel,
        content: None,
    };
    let a = store.create_outbound(new(true)).await.unwrap().value;
    let b = store.create_outbound(new(true)).await.unwrap().value;
    store.create_outbound(new(false)).await.unwrap();

    let before = store.statements();
    let msg = NewInbound { opt_out: Some(true), ..inbound(&p, thread, "SMin", "STOP") };
    let InboundOutcome::Stored(c) = store.record_inbound(msg).await.unwrap() else { panic!("stored") };
    assert_eq!(store.statements() - before, 1);

    assert_eq!(c.value.status, MessageStatus::Received);
    assert_eq!(c.events.len(), 3, "message.created and two message.updated");
    assert_eq!(c.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert_eq!(c.events[0].kind, event::MESSAGE_CREATED);
    assert_eq!(c.events[0].data, serde_json::to_value(&c.value).unwrap());
    let canceled: Vec<_> = c.events[1..].iter().map(|e| e.data["id"].clone()).collect();
    assert_eq!(canceled, vec![json!(a.id), json!(b.id)]);
    assert!(c.events[1..].iter().all(|e| e.data["status"] == "canceled"));
    assert_eq!((c.thread.unread_count, c.thread.scheduled_count, c.thread.last_seq), (1, 1, 6));
    assert_eq!(c.thread.last_preview, "STOP");
    assert!(c.thread.contact.opted_out_at.is_some(), "the summary shows the opt-out");
    // The canceled messages' payloads are the messages as stored.
    let page = store.messages(p.team.id, thread, None, 10).await.unwrap();
    for e in &c.events[1..] {
        let m = page.items.iter().find(|m| json!(m.id) == e.data["id"]).unwrap();
        assert_eq!(e.data, serde_json::to_value(m).unwrap());
    }
    let stored = store.events_after(p.team.id, thread, p.user.id, 3, 10).await.unwrap();
    assert_eq!(stored.iter().map(|e| &e.data).collect::<Vec<_>>(), c.events.iter().map(|e| &e.data).collect::<Vec<_>>());

    // A retried webhook writes only its receipt: one statement, nothing else changes.
    let before = store.statements();
    let again = NewInbound { opt_out: Some(true), ..inbound(&p, thread, "SMin", "STOP") };
    assert!(matches!(store.record_inbound(again).await.unwrap(), InboundOutcome::Duplicate));
    assert_eq!(store.statements() - before, 1);
    assert_eq!(store.thread(p.team.id, thread).await.unwrap().last_seq, 6);

    // START opts back in.
    let back = NewInbound { opt_out: Some(false), ..inbound(&p, thread, "SMin2", "START") };
    let InboundOutcome::Stored(c) = store.record_inbound(back).await.unwrap() else { panic!("stored") };
    assert!(c.thread.contact.opted_out_at.is_none());
    assert_eq!(c.thread.unread_count, 2);
}
