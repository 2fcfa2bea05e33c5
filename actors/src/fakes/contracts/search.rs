//! The search contract: a word of a message or of a note the reader may see, newest first and
//! paged; never another agent's private note or another team's text; a contact by a fragment of
//! its name or the digits of its phone.

use crate::audit::Actor;
use crate::domain::Visibility;
use crate::ids::*;
use crate::ports::{AccountWrites, NewInbound, SearchHitKind, SearchReads, ThreadWrites};
use crate::rules::search::terms;
use time::OffsetDateTime;

/// `thread` is a thread of `by`'s team whose contact is named "Carol" with phone +14155550100.
pub async fn search<S>(store: &S, by: &Actor, thread: ThreadId)
where
    S: SearchReads + ThreadWrites + AccountWrites,
{
    let team = by.team();
    let ann = by.user.id;
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    store.create_invite(by, None, crate::domain::Role::Agent, b"search-invite", expires).await.unwrap();
    let bob = crate::ports::NewAccount {
        team_name: None,
        invite_hash: Some(b"search-invite".to_vec()),
        email: "bob@search.test".into(),
        name: "Bob".into(),
        password_hash: "h".into(),
        simulated_channels: vec![],
    };
    let bob = store.create_account(bob, &Default::default()).await.unwrap().user.id;
    let inbound = |sid: &str, body: &str| NewInbound {
        team,
        thread,
        kind: crate::domain::ChannelKind::Sms,
        message_sid: sid.into(),
        body: body.into(),
        media: vec![],
        raw: serde_json::json!({}),
        opt_out: None,
    };
    for (sid, body) in [("SMs1", "My parcel arrived broken"), ("SMs2", "Where is my PARCEL?"), ("SMs3", "thanks")] {
        store.record_inbound(inbound(sid, body)).await.unwrap();
    }
    store.add_note(team, thread, ann, "Refund approved by finance", Visibility::Public, &[]).await.unwrap();
    store.add_note(team, thread, bob, "secret pineapple plan", Visibility::Private, &[]).await.unwrap();

    // Words of messages, as prefixes, any case; newest first, paged.
    let q = terms("parc").unwrap();
    let first = store.search(team, ann, &q, None, 1).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!((first.items[0].kind, first.items[0].thread_id), (SearchHitKind::Message, thread));
    assert!(first.items[0].snippet.to_lowercase().contains("parcel"), "{}", first.items[0].snippet);
    let rest = store.search(team, ann, &q, first.next_cursor.as_deref(), 10).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    assert!(first.items[0].at >= rest.items[0].at);
    assert_ne!(first.items[0].message_id, rest.items[0].message_id);

    // A public note; a private one for its author alone.
    let hits = store.search(team, bob, &terms("finance").unwrap(), None, 10).await.unwrap();
    assert_eq!(hits.items.iter().map(|h| h.kind).collect::<Vec<_>>(), [SearchHitKind::Note]);
    assert!(hits.items[0].note_id.is_some());
    assert!(store.search(team, ann, &terms("pineapple").unwrap(), None, 10).await.unwrap().items.is_empty());
    assert_eq!(store.search(team, bob, &terms("pineapple").unwrap(), None, 10).await.unwrap().items.len(), 1);

    // Contacts by name fragment and phone digits.
    let by_name = store.search(team, ann, &terms("aro").unwrap(), None, 10).await.unwrap();
    assert_eq!(by_name.items.iter().map(|h| (h.kind, h.thread_id)).collect::<Vec<_>>(), [(SearchHitKind::Contact, thread)]);
    let by_phone = store.search(team, ann, &terms("555 0100").unwrap(), None, 10).await.unwrap();
    assert_eq!(by_phone.items.iter().map(|h| h.kind).collect::<Vec<_>>(), [SearchHitKind::Contact]);
    assert_eq!(by_phone.items[0].contact.name, "Carol");

    // Another team sees none of it.
    let elsewhere = crate::ports::NewAccount {
        team_name: Some("Elsewhere".into()),
        invite_hash: None,
        email: "zed@search.test".into(),
        name: "Zed".into(),
        password_hash: "h".into(),
        simulated_channels: vec![],
    };
    let zed = store.create_account(elsewhere, &Default::default()).await.unwrap().user;
    for word in ["parcel", "finance", "Carol", "0100"] {
        assert!(store.search(zed.team_id, zed.id, &terms(word).unwrap(), None, 10).await.unwrap().items.is_empty(), "{word}");
    }
    // Nothing searchable in the words: no hit, no error.
    assert!(store.search(team, ann, &terms("&&& !!").unwrap(), None, 10).await.unwrap().items.is_empty());
}
