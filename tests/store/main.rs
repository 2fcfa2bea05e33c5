//! Store tests on a real database: the invariants the rest of the server leans on.

mod assignment;
mod automation;
mod bad_input;
mod calls;
mod campaigns;
mod group_commit;
mod identities;
mod inbox;
mod lists;
mod messages;
mod pace;
mod passwords;
mod replies;
mod search;
mod seqs;
mod statements;
mod tokens;
mod triage;
mod two_factor;
mod whatsapp;

use actors::domain::*;
use actors::ids::{MessageId, ThreadId};
use actors::ports::*;
use serde_json::json;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

/// A team (with its simulated channels), a contact and its SMS thread.
pub(crate) async fn fixture(store: &PgStore) -> (Principal, actors::ids::ThreadId) {
    fixture_named(store, "C").await
}

/// A fixture whose contact (+14155550100) is called `name`.
pub(crate) async fn fixture_named(store: &PgStore, name: &str) -> (Principal, actors::ids::ThreadId) {
    let p = store
        .create_account(
            NewAccount {
                team_name: Some("T".into()),
                invite_hash: None,
                email: format!("{}@x.test", uuid::Uuid::new_v4().simple()),
                name: "Ana".into(),
                password_hash: "x".into(),
                simulated_channels: web::api::simulated_channels(),
            },
            &Default::default(),
        )
        .await
        .unwrap();
    let contact = store.create_contact(p.team.id, &NewContact::basic(name, "+14155550100")).await.unwrap();
    let (thread, created) = store.thread_for_contact(p.team.id, contact.id, ChannelKind::Sms, None).await.unwrap();
    assert!(created);
    (p, thread)
}

/// An outbound message sent now (queued for the carrier).
pub(crate) async fn send_now(store: &PgStore, p: &Principal, thread: actors::ids::ThreadId) -> Message {
    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "x".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
        content: None,
    };
    store.create_outbound(new).await.unwrap().value
}

pub(crate) fn inbound(p: &Principal, thread: actors::ids::ThreadId, sid: &str, body: &str) -> NewInbound {
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

/// Every event a writer returns carries the message exactly as `Message` serializes, and reads
/// back the same from the log (what a live client got is what a catching-up client gets).
pub(crate) async fn assert_events_match(store: &PgStore, p: &Principal, c: &Committed<Message>) {
    let last = c.events.last().expect("an event");
    assert_eq!(last.data, serde_json::to_value(&c.value).unwrap(), "the event payload is the message");
    assert_log_matches(store, p, c).await;
}

/// A status callback's event carries what it moved, exactly as `Message::status_change` has it,
/// and reads back the same from the log.
pub(crate) async fn assert_status_event_matches(store: &PgStore, p: &Principal, c: &Committed<Message>) {
    let last = c.events.last().expect("an event");
    assert_eq!(last.data, c.value.status_change(), "the event payload is the status change");
    assert!(last.data.get("body").is_none() && last.data.get("created_at").is_none(), "{}", last.data);
    assert_log_matches(store, p, c).await;
}

pub(crate) async fn assert_log_matches(store: &PgStore, p: &Principal, c: &Committed<Message>) {
    let last = c.events.last().expect("an event");
    assert_eq!(c.thread.last_seq, last.seq, "the summary is the thread after the change");
    let first = c.events[0].seq;
    let stored = store.events_after(p.team.id, c.value.thread_id, p.user.id, first - 1, 10).await.unwrap();
    for (live, kept) in c.events.iter().zip(&stored) {
        assert_eq!((live.seq, &live.kind, &live.data), (kept.seq, &kept.kind, &kept.data));
    }
}

/// One message of a thread, as the thread view reads it.
pub(crate) async fn message(store: &PgStore, p: &Principal, thread: ThreadId, id: MessageId) -> Message {
    let page = store.messages(p.team.id, thread, None, 200).await.unwrap();
    page.items.into_iter().find(|m| m.id == id).expect("the message is in its thread")
}

/// An invited agent of `p`'s team.
pub(crate) async fn teammate(store: &PgStore, p: &Principal, name: &str) -> User {
    let invite = format!("invite-{}", uuid::Uuid::new_v4()).into_bytes();
    store.create_invite(&act(&p.user), None, Role::Agent, &invite, OffsetDateTime::now_utc() + Duration::days(1)).await.unwrap();
    let account = NewAccount {
        team_name: None,
        invite_hash: Some(invite),
        email: format!("{}@x.test", uuid::Uuid::new_v4().simple()),
        name: name.into(),
        password_hash: "x".into(),
        simulated_channels: vec![],
    };
    store.create_account(account, &Default::default()).await.unwrap().user
}

/// `user` acting from no particular client.
pub fn act(user: &actors::domain::User) -> actors::audit::Actor {
    actors::audit::Actor::new(user.clone(), Default::default())
}

/// A pool of one connection: what its backend reads is in `pg_stat_user_tables` once flushed.
pub(crate) async fn one_connection(pool: &sqlx::PgPool) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with((*pool.connect_options()).clone()).await.unwrap()
}

/// What the one connection's backend has read of `table` so far: `counters`, columns of
/// `pg_stat_user_tables` added up.
pub(crate) async fn reads(one: &sqlx::PgPool, table: &str, counters: &[&str]) -> i64 {
    sqlx::query("SELECT pg_stat_force_next_flush()").execute(one).await.unwrap();
    let sum = counters.iter().map(|c| format!("COALESCE({c}, 0)")).collect::<Vec<_>>().join(" + ");
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT ({sum})::int8 FROM pg_stat_user_tables WHERE relname = $1")))
        .bind(table)
        .fetch_one(one)
        .await
        .unwrap()
}
