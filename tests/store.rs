//! Store tests on a real database: the invariants the rest of the server leans on.

use actors::domain::*;
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
    let after = store.outgoing(msg.id).await.unwrap().message;
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
    assert_eq!(store.outgoing(b.id).await.unwrap().message.status, MessageStatus::Scheduled);
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
    let failed = store.fail_stale(OffsetDateTime::now_utc() - Duration::minutes(2)).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].value.status, MessageStatus::Failed);
    assert!(failed[0].value.error_reason.as_deref().unwrap().contains("outcome unknown"));
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
