//! WhatsApp's data in Postgres: the inbound statement moves the thread's `last_inbound_at` (and so
//! its window) with no statement of its own, a template send keeps its Content sid and variables
//! for the carrier with the contact's last message beside them, and the templates' contract
//! (`actors/src/fakes/contracts/templates.rs`), which the in-memory fake keeps too.

use crate::*;
use actors::audit::Actor;
use actors::rules::message_templates::ContentRef;
use sqlx::PgPool;
use std::collections::BTreeMap;

#[sqlx::test]
async fn templates_keep_one_per_content_sid_and_sync_only_what_changed(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, _) = fixture(store).await;
    actors::fakes::contracts::templates(store, &Actor::new(p.user.clone(), Default::default())).await;
}

#[sqlx::test]
async fn an_inbound_message_opens_the_window_and_a_template_send_keeps_its_content(pool: PgPool) {
    let store = &PgStore::from_pool(pool);
    let (p, sms_thread) = fixture(store).await;
    let contact = store.thread(p.team.id, sms_thread).await.unwrap().contact.id;
    let (thread, _) = store.thread_for_contact(p.team.id, contact, ChannelKind::Whatsapp, None).await.unwrap();
    let before = store.thread(p.team.id, thread).await.unwrap();
    assert_eq!((before.last_inbound_at, before.whatsapp_window_closes_at), (None, None), "never wrote: closed");

    let new = NewInbound { kind: ChannelKind::Whatsapp, ..inbound(&p, thread, "SMwa1", "Hello") };
    let InboundOutcome::Stored(done) = store.record_inbound(new).await.unwrap() else { panic!("stored") };
    let at = done.value.created_at;
    assert_eq!(done.thread.last_inbound_at, Some(at), "moved by the inbound statement itself");
    assert_eq!(done.thread.whatsapp_window_closes_at, Some(at + Duration::hours(24)));
    let sms = store.thread(p.team.id, sms_thread).await.unwrap();
    assert_eq!(sms.whatsapp_window_closes_at, None, "SMS has no window");

    let content = ContentRef { sid: format!("HX{}", "ab".repeat(16)), variables: BTreeMap::from([("1".into(), "Ana".into())]) };
    let new = NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "Hi Ana".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
        content: Some(content.clone()),
    };
    let created = store.create_outbound(new).await.unwrap();
    assert_eq!(created.value.content, Some(content.clone()), "the message keeps its template");
    assert_events_match(store, &p, &created).await;
    let msg = created.value;
    let out = store.begin_send(msg.id).await.unwrap().expect("waiting for the carrier");
    assert_eq!((out.message.content, out.last_inbound_at), (Some(content), Some(at)));
    assert_eq!(out.message.body, "Hi Ana", "the thread shows the rendered text");
}
