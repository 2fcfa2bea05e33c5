//! Store tests on a real database: the invariants the rest of the server leans on.

use actors::domain::*;
use actors::ids::{MessageId, ThreadId};
use actors::ports::*;
use serde_json::json;
use sqlx::PgPool;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

/// A team (with its simulated channels), a contact and its SMS thread.
async fn fixture(store: &PgStore) -> (Principal, actors::ids::ThreadId) {
    let p = store
        .create_account(NewAccount {
            team_name: Some("T".into()),
            invite_hash: None,
            email: format!("{}@x.test", uuid::Uuid::new_v4().simple()),
            name: "Ana".into(),
            password_hash: "x".into(),
            simulated_channels: web::api::simulated_channels(),
        })
        .await
        .unwrap();
    let contact = store.create_contact(p.team.id, "C", "+14155550100", None, &[]).await.unwrap();
    let (thread, created) = store.thread_for_contact(p.team.id, contact.id, ChannelKind::Sms).await.unwrap();
    assert!(created);
    (p, thread)
}

/// An outbound message sent now (queued for the carrier).
async fn send_now(store: &PgStore, p: &Principal, thread: actors::ids::ThreadId) -> Message {
    let new =
        NewOutbound { team: p.team.id, thread, author: None, body: "x".into(), media_urls: vec![], send_at: None, cancel_on_reply: false };
    store.create_outbound(new).await.unwrap().value
}

fn inbound(p: &Principal, thread: actors::ids::ThreadId, sid: &str, body: &str) -> NewInbound {
    NewInbound {
        team: p.team.id,
        thread,
        kind: ChannelKind::Sms,
        message_sid: sid.into(),
        body: body.into(),
        media: vec![],
        raw: json!({}),
        opt_out: None,
    }
}

#[sqlx::test]
async fn concurrent_writers_get_gapless_increasing_seqs(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let mut tasks = vec![];
    for i in 0..40 {
        let store = store.clone();
        let team = p.team.id;
        let author = p.user.id;
        tasks.push(tokio::spawn(async move {
            store.add_note(team, thread, author, &format!("note {i}"), Visibility::Public, &[]).await.unwrap().events[0].seq
        }));
    }
    let mut seqs = vec![];
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
    let events = store.events_after(p.team.id, thread, p.user.id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 40);
}

#[sqlx::test]
async fn inbound_is_idempotent_by_message_sid(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    assert!(matches!(store.record_inbound(inbound(&p, thread, "SM1", "hi")).await.unwrap(), InboundOutcome::Stored(_)));
    assert!(matches!(store.record_inbound(inbound(&p, thread, "SM1", "hi")).await.unwrap(), InboundOutcome::Duplicate));
    let page = store.messages(p.team.id, thread, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(store.thread(p.team.id, thread).await.unwrap().unread_count, 1);
}

#[sqlx::test]
async fn status_only_moves_forward(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let msg = send_now(&store, &p, thread).await;
    store.record_send(msg.id, SendOutcome::Sent { sid: "SMx".into() }).await.unwrap().unwrap();
    assert!(store.apply_status("SMx", MessageStatus::Delivered, None, None, json!({})).await.unwrap().is_some());
    assert!(store.apply_status("SMx", MessageStatus::Sent, None, None, json!({})).await.unwrap().is_none());
    assert!(store.apply_status("SMx", MessageStatus::Queued, None, None, json!({})).await.unwrap().is_none());
    assert!(store.apply_status("SMunknown", MessageStatus::Sent, None, None, json!({})).await.unwrap().is_none());
    let after = message(&store, &p, thread, msg.id).await;
    assert_eq!(after.status, MessageStatus::Delivered);
    assert!(after.delivered_at.is_some());
}

#[sqlx::test]
async fn each_due_message_is_claimed_once_and_a_cancel_never_races_a_claim(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let at = OffsetDateTime::now_utc() + Duration::milliseconds(300);
    let mut ids = vec![];
    for i in 0..300 {
        let m = store
            .create_outbound(NewOutbound {
                team: p.team.id,
                thread,
                author: None,
                body: format!("m{i}"),
                media_urls: vec![],
                send_at: Some(at),
                cancel_on_reply: false,
            })
            .await
            .unwrap();
        ids.push(m.value.id);
    }
    // One is canceled before it falls due.
    store.cancel_scheduled(p.team.id, ids[0], p.user.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // Four claimers at once, in batches.
    let mut tasks = vec![];
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = vec![];
            loop {
                let batch = store.claim_due(OffsetDateTime::now_utc(), 25).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.message));
            }
        }));
    }
    let mut claimed = vec![];
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let total = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(total, 299, "every due message claimed");
    assert_eq!(claimed.len(), 299, "and none twice");
    assert!(!claimed.contains(&ids[0]), "the canceled one is never claimed");
    // A claimed message can no longer be canceled or edited.
    let err = store.cancel_scheduled(p.team.id, ids[1], p.user.id).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Conflict(_)));
}

#[sqlx::test]
async fn a_reply_cancels_only_cancel_on_reply_messages(pool: PgPool) {
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
    };
    let a = store.create_outbound(new(true)).await.unwrap().value;
    let b = store.create_outbound(new(false)).await.unwrap().value;
    let InboundOutcome::Stored(c) = store.record_inbound(inbound(&p, thread, "SM2", "actually never mind")).await.unwrap() else {
        panic!()
    };
    assert_eq!(c.events.len(), 2, "message.created and one message.updated");
    assert_eq!(c.events[1].data["id"], json!(a.id));
    assert_eq!(c.events[1].data["status"], "canceled");
    assert_eq!(message(&store, &p, thread, b.id).await.status, MessageStatus::Scheduled);
}

#[sqlx::test]
async fn private_events_are_only_for_their_author(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    store.add_note(p.team.id, thread, p.user.id, "mine", Visibility::Private, &[]).await.unwrap();
    store.add_note(p.team.id, thread, p.user.id, "ours", Visibility::Public, &[]).await.unwrap();
    let stranger = actors::ids::UserId::new();
    let seen = store.events_after(p.team.id, thread, stranger, 0, 10).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].data["body"], "ours");
    assert_eq!(store.events_after(p.team.id, thread, p.user.id, 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.notes(p.team.id, thread, stranger).await.unwrap().len(), 1);
}

#[sqlx::test]
async fn stale_sends_fail_as_outcome_unknown(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(&store).await;
    let m = send_now(&store, &p, thread).await;
    sqlx::query("UPDATE messages SET status = 'sending', claimed_at = now() - interval '1 hour' WHERE id = $1")
        .bind(m.id.0)
        .execute(&pool)
        .await
        .unwrap();
    let cutoff = OffsetDateTime::now_utc() - Duration::minutes(2);
    let stale = store.stale_sends(cutoff, 10).await.unwrap();
    assert_eq!(stale, vec![(thread, m.id)]);
    let failed = store.fail_unknown(m.id, cutoff).await.unwrap().expect("failed");
    assert_eq!(failed.value.status, MessageStatus::Failed);
    assert!(failed.value.error_reason.as_deref().unwrap().contains("outcome unknown"));
    assert!(store.fail_unknown(m.id, cutoff).await.unwrap().is_none(), "once");
    // A send still waiting for its budget learns it must not go out.
    assert!(!store.touch_claim(m.id).await.unwrap());
    // A late carrier answer does not resurrect it.
    assert!(store.record_send(m.id, SendOutcome::Sent { sid: "SMlate".into() }).await.unwrap().is_none());
}

#[sqlx::test]
async fn generated_settings_are_kept_and_the_first_writer_wins(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let first = store.setting_or_init("pusher_key", || "one".into()).await.unwrap();
    let second = store.setting_or_init("pusher_key", || "two".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

/// A NUL byte cannot be stored in Postgres text: that is the client's bad input (a 4xx), not an
/// internal error.
#[sqlx::test]
async fn a_nul_byte_is_invalid_input_not_an_internal_error(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let invalid = |e: actors::DomainError| matches!(e, actors::DomainError::Invalid { .. });

    let err = store.create_contact(p.team.id, "Nu\0l", "+14155550199", None, &[]).await.unwrap_err();
    assert!(invalid(err.clone()), "contact name: {err:?}");

    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "a\0b".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
    };
    let err = store.create_outbound(new).await.unwrap_err();
    assert!(invalid(err.clone()), "message body: {err:?}");

    let err = store.add_note(p.team.id, thread, p.user.id, "x\0y", Visibility::Public, &[]).await.unwrap_err();
    assert!(invalid(err.clone()), "note body: {err:?}");

    let err = store.record_inbound(inbound(&p, thread, "SMnul", "in\0bound")).await.unwrap_err();
    assert!(invalid(err.clone()), "inbound body: {err:?}");
    // Nothing half-written: the thread's log is still empty.
    assert!(store.events_after(p.team.id, thread, p.user.id, 0, 10).await.unwrap().is_empty());
}

#[sqlx::test]
async fn out_of_range_timestamps_and_numbers_are_invalid_input(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(&store).await;
    // Postgres' timestamptz starts at 4713 BC; `time` goes back to 9999 BC.
    let ancient = time::Date::from_calendar_date(-7537, time::Month::March, 1).unwrap().midnight().assume_utc();
    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "later".into(),
        media_urls: vec![],
        send_at: Some(ancient),
        cancel_on_reply: false,
    };
    let err = store.create_outbound(new).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Invalid { .. }), "{err:?}");

    // An integer column at its limit: one more unread message overflows it (SQLSTATE 22003).
    sqlx::query("UPDATE threads SET unread_count = 2147483647 WHERE id = $1").bind(thread.0).execute(&pool).await.unwrap();
    let err = store.record_inbound(inbound(&p, thread, "SMmax", "hi")).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Invalid { .. }), "{err:?}");

    // A negative page size reaches LIMIT (SQLSTATE 2201W).
    let err = store.messages(p.team.id, thread, None, -5).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Invalid { .. }), "{err:?}");
}

#[sqlx::test]
async fn a_crafted_cursor_is_invalid(pool: PgPool) {
    use base64::Engine;
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let craft = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let ancient = time::Date::from_calendar_date(-7537, time::Month::March, 1).unwrap().midnight().assume_utc();
    let id = uuid::Uuid::nil();
    let cursors = [
        craft(format!("{}|{id}", ancient.unix_timestamp_nanos())),
        craft(format!("{}|{id}", i128::MAX)),
        craft(format!("{}|not-a-uuid", 0)),
        craft("no separator".into()),
        "%%%".into(),
    ];
    for c in cursors {
        let filter = ThreadFilter { cursor: Some(c.clone()), limit: 10, ..Default::default() };
        let err = store.list_threads(p.team.id, &filter).await.unwrap_err();
        assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "threads {c}: {err:?}");
        let err = store.messages(p.team.id, thread, Some(&c), 10).await.unwrap_err();
        assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "messages {c}: {err:?}");
        let err = store.list_contacts(p.team.id, None, Some(&c), 10).await.unwrap_err();
        assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "contacts {c}: {err:?}");
    }
    // The cursors the server gives out still work.
    let other = store.create_contact(p.team.id, "D", "+14155550101", None, &[]).await.unwrap();
    store.thread_for_contact(p.team.id, other.id, ChannelKind::Sms).await.unwrap();
    let page = store.list_threads(p.team.id, &ThreadFilter { limit: 1, ..Default::default() }).await.unwrap();
    let next = page.next_cursor.expect("one thread left");
    let filter = ThreadFilter { cursor: Some(next), limit: 10, ..Default::default() };
    assert_eq!(store.list_threads(p.team.id, &filter).await.unwrap().items.len(), 1);
}

/// A stored enum value this code does not know is an error, never read as some default.
#[sqlx::test]
async fn an_unknown_stored_enum_value_is_an_error(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(&store).await;
    send_now(&store, &p, thread).await;
    sqlx::query("ALTER TABLE threads DROP CONSTRAINT threads_status_check").execute(&pool).await.unwrap();
    sqlx::query("UPDATE threads SET status = 'archived' WHERE id = $1").bind(thread.0).execute(&pool).await.unwrap();
    let err = store.thread(p.team.id, thread).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Internal(_)), "{err:?}");

    sqlx::query("ALTER TABLE messages DROP CONSTRAINT messages_status_check").execute(&pool).await.unwrap();
    sqlx::query("UPDATE messages SET status = 'teleported' WHERE thread_id = $1").bind(thread.0).execute(&pool).await.unwrap();
    let err = store.messages(p.team.id, thread, None, 10).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Internal(_)), "{err:?}");
}

/// Every event a writer returns carries the message exactly as `Message` serializes, and reads
/// back the same from the log (what a live client got is what a catching-up client gets).
async fn assert_events_match(store: &PgStore, p: &Principal, c: &Committed<Message>) {
    let last = c.events.last().expect("an event");
    assert_eq!(last.data, serde_json::to_value(&c.value).unwrap(), "the event payload is the message");
    assert_eq!(c.thread.last_seq, last.seq, "the summary is the thread after the change");
    let first = c.events[0].seq;
    let stored = store.events_after(p.team.id, c.value.thread_id, p.user.id, first - 1, 10).await.unwrap();
    for (live, kept) in c.events.iter().zip(&stored) {
        assert_eq!((live.seq, &live.kind, &live.data), (kept.seq, &kept.kind, &kept.data));
    }
}

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
    assert_events_match(&store, &p, &sent).await;
    // Answered: no longer ours to send.
    assert!(store.begin_send(created.value.id).await.unwrap().is_none());

    // A delivery callback is one statement too.
    let before = store.statements();
    let delivered = store.apply_status("SMsend", MessageStatus::Delivered, None, None, json!({})).await.unwrap().unwrap();
    assert_eq!(store.statements() - before, 1);
    assert_eq!(delivered.value.status, MessageStatus::Delivered);
    assert_events_match(&store, &p, &delivered).await;

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
    };
    assert!(matches!(store.create_outbound(new).await.unwrap_err(), actors::DomainError::NotFound("thread")));
}

#[sqlx::test]
async fn early_status_callbacks_are_applied_when_the_send_is_recorded(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let m = send_now(&store, &p, thread).await;
    // The carrier's callbacks beat its answer to the send: the webhook kept them as receipts.
    store.record_receipt(p.team.id, "status", Some("SMearly"), json!({ "MessageStatus": "delivered", "ErrorCode": "0" })).await.unwrap();
    store.record_receipt(p.team.id, "status", Some("SMearly"), json!({ "MessageStatus": "sent" })).await.unwrap();
    let before = store.statements();
    let done = store.record_send(m.id, SendOutcome::Sent { sid: "SMearly".into() }).await.unwrap().unwrap();
    assert_eq!(store.statements() - before, 2, "the answer, then the kept callbacks as one step");
    assert_eq!(done.value.status, MessageStatus::Delivered);
    assert_eq!(done.value.error_code, None);
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.events[0].data["status"], "sent");
    assert_eq!(done.events[1].seq, done.events[0].seq + 1);
    assert_events_match(&store, &p, &done).await;
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

/// The single-statement writers and the transactional ones share one seq per thread: under
/// concurrent sends, inbound messages and notes it stays unique and gapless.
#[sqlx::test]
async fn mixed_concurrent_writers_get_gapless_seqs(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let mut tasks = vec![];
    for i in 0..15 {
        let (s1, s2, s3) = (store.clone(), store.clone(), store.clone());
        let (team, author) = (p.team.id, p.user.id);
        let msg = inbound(&p, thread, &format!("SMc{i}"), "hi");
        tasks.push(tokio::spawn(async move {
            let new = NewOutbound {
                team,
                thread,
                author: None,
                body: format!("out {i}"),
                media_urls: vec![],
                send_at: None,
                cancel_on_reply: false,
            };
            let c = s1.create_outbound(new).await.unwrap();
            let sent = s1.record_send(c.value.id, SendOutcome::Sent { sid: format!("SMo{i}") }).await.unwrap().unwrap();
            vec![c.events[0].seq, sent.events[0].seq]
        }));
        tasks.push(tokio::spawn(async move {
            let InboundOutcome::Stored(c) = s2.record_inbound(msg).await.unwrap() else { panic!() };
            c.events.iter().map(|e| e.seq).collect()
        }));
        tasks.push(tokio::spawn(async move {
            vec![s3.add_note(team, thread, author, &format!("note {i}"), Visibility::Public, &[]).await.unwrap().events[0].seq]
        }));
    }
    let mut seqs = vec![];
    for t in tasks {
        seqs.extend(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=60).collect::<Vec<i64>>());
    assert_eq!(store.events_after(p.team.id, thread, p.user.id, 0, 100).await.unwrap().len(), 60);
    assert_eq!(store.thread(p.team.id, thread).await.unwrap().last_seq, 60);
}

#[sqlx::test]
async fn a_thread_loads_by_id_alone(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let before = store.statements();
    let loaded = store.load_thread(thread).await.unwrap().expect("the thread");
    assert_eq!(store.statements() - before, 1);
    assert_eq!((loaded.id, loaded.team_id), (thread, p.team.id));
    assert!(store.load_thread(actors::ids::ThreadId::new()).await.unwrap().is_none());
}

/// One message of a thread, as the thread view reads it.
async fn message(store: &PgStore, p: &Principal, thread: ThreadId, id: MessageId) -> Message {
    let page = store.messages(p.team.id, thread, None, 200).await.unwrap();
    page.items.into_iter().find(|m| m.id == id).expect("the message is in its thread")
}

/// An invited agent of `p`'s team.
async fn teammate(store: &PgStore, p: &Principal, name: &str) -> User {
    let invite = format!("invite-{}", uuid::Uuid::new_v4()).into_bytes();
    store.create_invite(&p.user, None, Role::Agent, &invite, OffsetDateTime::now_utc() + Duration::days(1)).await.unwrap();
    let account = NewAccount {
        team_name: None,
        invite_hash: Some(invite),
        email: format!("{}@x.test", uuid::Uuid::new_v4().simple()),
        name: name.into(),
        password_hash: "x".into(),
        simulated_channels: vec![],
    };
    store.create_account(account).await.unwrap().user
}

#[sqlx::test]
async fn a_token_lookup_is_one_statement_and_stamps_last_use_at_most_once_a_minute(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, _) = fixture(&store).await;
    let token = store.create_token(&p.user, "ci", b"hash", None).await.unwrap();
    let last_used = || async {
        let at: Option<OffsetDateTime> =
            sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE id = $1").bind(token.id.0).fetch_one(&pool).await.unwrap();
        at
    };
    assert_eq!(last_used().await, None);

    let before = store.statements();
    assert_eq!(store.token_principal(b"hash").await.unwrap().unwrap().user.id, p.user.id);
    assert_eq!(store.statements() - before, 1, "the lookup and the stamp are one statement");
    let first = last_used().await.expect("stamped on first use");

    // Within the minute nothing is written again.
    store.token_principal(b"hash").await.unwrap().unwrap();
    assert_eq!(last_used().await, Some(first));

    // A minute later it is.
    sqlx::query("UPDATE api_tokens SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1")
        .bind(token.id.0)
        .execute(&pool)
        .await
        .unwrap();
    store.token_principal(b"hash").await.unwrap().unwrap();
    assert!(last_used().await.unwrap() >= first, "stamped again");
    assert_eq!(store.list_tokens(p.team.id, None, None, 10).await.unwrap().items[0].last_used_at, last_used().await);

    // Concurrent lookups with one token all authenticate.
    let mut tasks = vec![];
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.token_principal(b"hash").await.unwrap().is_some() }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
}

#[sqlx::test]
async fn revoked_and_expired_tokens_neither_authenticate_nor_list(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, _) = fixture(&store).await;
    let soon = OffsetDateTime::now_utc() + Duration::hours(1);
    let revoked = store.create_token(&p.user, "revoked", b"revoked", None).await.unwrap();
    let expiring = store.create_token(&p.user, "expiring", b"expiring", Some(soon)).await.unwrap();
    let micros = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1000;
    assert_eq!(expiring.expires_at.map(micros), Some(micros(soon)), "as stored, to the microsecond");
    assert!(store.token_principal(b"expiring").await.unwrap().is_some());

    store.revoke_token(&p.user, revoked.id, Some(p.user.id)).await.unwrap();
    assert!(store.token_principal(b"revoked").await.unwrap().is_none());
    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(expiring.id.0)
        .execute(&pool)
        .await
        .unwrap();
    assert!(store.token_principal(b"expiring").await.unwrap().is_none());
    assert!(store.list_tokens(p.team.id, None, None, 10).await.unwrap().items.is_empty());

    // Revoking twice is "not found" the second time, and each change is in the audit log.
    let again = store.revoke_token(&p.user, revoked.id, None).await.unwrap_err();
    assert!(matches!(again, actors::DomainError::NotFound("token")), "{again:?}");
    let audit: Vec<(String, uuid::Uuid, uuid::Uuid)> =
        sqlx::query_as("SELECT action, subject_id, actor_id FROM audit_log WHERE action LIKE 'token.%' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (me, r, e) = (p.user.id.0, revoked.id.0, expiring.id.0);
    assert_eq!(audit, vec![("token.created".into(), r, me), ("token.created".into(), e, me), ("token.revoked".into(), r, me)]);
}

#[sqlx::test]
async fn tokens_are_revoked_only_by_their_owner_or_the_teams_admins(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, _) = fixture(&store).await;
    let (other_team, _) = fixture(&store).await;
    let agent = teammate(&store, &p, "Ben").await;
    let admins = store.create_token(&p.user, "admin's", b"admin", None).await.unwrap();
    let agents = store.create_token(&agent, "agent's", b"agent", None).await.unwrap();

    // Another team's admin, and an agent limited to their own, find nothing.
    let err = store.revoke_token(&other_team.user, agents.id, None).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::NotFound(_)), "{err:?}");
    let err = store.revoke_token(&agent, admins.id, Some(agent.id)).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::NotFound(_)), "{err:?}");
    assert!(store.token_principal(b"admin").await.unwrap().is_some());
    assert!(store.token_principal(b"agent").await.unwrap().is_some());

    // The team's admin may revoke the agent's.
    store.revoke_token(&p.user, agents.id, None).await.unwrap();
    assert!(store.token_principal(b"agent").await.unwrap().is_none());
}

#[sqlx::test]
async fn token_listings_page_newest_first_per_user_or_team(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, _) = fixture(&store).await;
    let (other_team, _) = fixture(&store).await;
    let agent = teammate(&store, &p, "Ben").await;
    let mut mine = vec![];
    for i in 0..5 {
        mine.push(store.create_token(&p.user, &format!("t{i}"), format!("mine-{i}").as_bytes(), None).await.unwrap());
    }
    let agents = store.create_token(&agent, "agent's", b"agent", None).await.unwrap();
    store.create_token(&other_team.user, "theirs", b"theirs", None).await.unwrap();

    let walk = |owner: Option<actors::ids::UserId>| {
        let store = store.clone();
        let team = p.team.id;
        async move {
            let mut seen = vec![];
            let mut cursor: Option<String> = None;
            loop {
                let page = store.list_tokens(team, owner, cursor.as_deref(), 2).await.unwrap();
                assert!(page.items.len() <= 2);
                seen.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return seen,
                }
            }
        }
    };
    let own = walk(Some(p.user.id)).await;
    mine.reverse();
    assert_eq!(own, mine, "own tokens, newest first, each once");
    let all = walk(None).await;
    assert_eq!(all.len(), 6, "the team's, not another team's");
    assert_eq!(all[0], agents);
    assert_eq!((all[0].user_id, all[0].user_name.as_str()), (agent.id, "Ben"));
    let err = store.list_tokens(p.team.id, None, Some("garbage"), 2).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "{err:?}");
}
