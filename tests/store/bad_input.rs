//! Bad input is the client's (a 4xx), never an internal error: NUL bytes, out-of-range values, crafted cursors; an unknown stored value is an error.

use crate::*;
use actors::domain::*;
use actors::ports::*;
use sqlx::PgPool;
use switchboard::store::PgStore;

/// A NUL byte cannot be stored in Postgres text: that is the client's bad input (a 4xx), not an
/// internal error.
#[sqlx::test]
async fn a_nul_byte_is_invalid_input_not_an_internal_error(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let invalid = |e: actors::DomainError| matches!(e, actors::DomainError::Invalid { .. });

    let err = store.create_contact(p.team.id, &NewContact::basic("Nu\0l", "+14155550199")).await.unwrap_err();
    assert!(invalid(err.clone()), "contact name: {err:?}");

    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "a\0b".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
        content: None,
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
        content: None,
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
        let err = store.list_contacts(p.team.id, &Default::default(), Some(&c), 10).await.unwrap_err();
        assert!(matches!(err, actors::DomainError::Invalid { field: "cursor", .. }), "contacts {c}: {err:?}");
    }
    // The cursors the server gives out still work.
    let other = store.create_contact(p.team.id, &NewContact::basic("D", "+14155550101")).await.unwrap();
    store.thread_for_contact(p.team.id, other.id, ChannelKind::Sms, None).await.unwrap();
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
