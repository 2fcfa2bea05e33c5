//! The notifications contract: one row per recipient and fact, only for active members of the
//! fact's team who want its kind, watchers of unassigned threads by opt-in, newest first,
//! marked read by their owner alone.

use crate::audit::Actor;
use crate::ids::*;
use crate::ports::{AccountWrites, NewAccount, NotificationPrefs, NotificationStore, ReadWhich};
use crate::rules::notifications::{Fact, NotificationKind, Recipients};
use time::OffsetDateTime;

pub async fn notifications<S>(store: &S, by: &Actor, thread: ThreadId)
where
    S: NotificationStore + AccountWrites,
{
    let team = by.team();
    let ann = by.user.id;
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    store.create_invite(by, None, crate::domain::Role::Agent, b"notify-invite", expires).await.unwrap();
    let account = |email: &str, invite: Option<Vec<u8>>| NewAccount {
        team_name: invite.is_none().then(|| "Elsewhere".to_owned()),
        invite_hash: invite,
        email: email.into(),
        name: "Bob".into(),
        password_hash: "h".into(),
        simulated_channels: vec![],
    };
    let bob = store.create_account(account("bob@notify.test", Some(b"notify-invite".to_vec())), &Default::default()).await.unwrap().user.id;
    let stranger = store.create_account(account("stranger@notify.test", None), &Default::default()).await.unwrap().user.id;
    let fact = |kind, key: &str, recipients| Fact {
        kind,
        team,
        thread,
        key: key.into(),
        recipients,
        actor: Some(ann),
        data: serde_json::json!({ "preview": key }),
    };

    // Once per recipient and fact; never for another team's member.
    let mention = fact(NotificationKind::Mention, "t:1", Recipients::Users(vec![bob, stranger]));
    let made = store.create_notifications(&mention).await.unwrap();
    assert_eq!(made.len(), 1);
    let first = &made[0];
    assert_eq!((first.notification.user_id, first.notification.kind, first.unread), (bob, NotificationKind::Mention, 1));
    assert_eq!(first.notification.thread_id, Some(thread));
    assert!(first.notification.actor_name.is_some(), "who did it");
    assert!(store.create_notifications(&mention).await.unwrap().is_empty(), "a fact told twice is stored once");

    // Watchers of unassigned threads opt in.
    let watchers = |key| fact(NotificationKind::Inbound, key, Recipients::UnassignedWatchers);
    assert!(store.create_notifications(&watchers("t:2")).await.unwrap().is_empty(), "nobody opted in");
    let all = NotificationPrefs { kinds: NotificationKind::ALL.to_vec(), inbound_unassigned: true, browser: true };
    assert_eq!(store.set_notification_prefs(team, bob, &all).await.unwrap(), all);
    let made = store.create_notifications(&watchers("t:3")).await.unwrap();
    assert_eq!(made.iter().map(|c| (c.notification.user_id, c.unread)).collect::<Vec<_>>(), [(bob, 2)]);

    // Kinds one turned off are not stored.
    assert_eq!(store.notification_prefs(ann).await.unwrap(), NotificationPrefs::default());
    let inbound_only = NotificationPrefs { kinds: vec![NotificationKind::Inbound], inbound_unassigned: false, browser: false };
    store.set_notification_prefs(team, bob, &inbound_only).await.unwrap();
    assert_eq!(store.notification_prefs(bob).await.unwrap(), inbound_only);
    let muted = fact(NotificationKind::Mention, "t:4", Recipients::Users(vec![bob]));
    assert!(store.create_notifications(&muted).await.unwrap().is_empty());

    // Newest first, paged.
    let p1 = store.notifications(bob, None, 1).await.unwrap();
    let p2 = store.notifications(bob, p1.next_cursor.as_deref(), 1).await.unwrap();
    assert_eq!((p1.items.len(), p2.items.len(), p2.next_cursor.is_none()), (1, 1, true));
    assert_eq!((p1.items[0].data["preview"].as_str(), p2.items[0].data["preview"].as_str()), (Some("t:3"), Some("t:1")));
    assert!(store.notifications(ann, None, 10).await.unwrap().items.is_empty());

    // Marked read by their owner alone; marking twice changes nothing.
    let newest = p1.items[0].id;
    assert_eq!(store.mark_notifications_read(ann, &ReadWhich::All).await.unwrap(), (vec![], 0));
    let ids = ReadWhich::Ids(vec![newest, NotificationId::new()]);
    assert_eq!(store.mark_notifications_read(bob, &ids).await.unwrap(), (vec![newest], 1));
    assert_eq!(store.mark_notifications_read(bob, &ids).await.unwrap(), (vec![], 1));
    assert_eq!(store.mark_notifications_read(bob, &ReadWhich::All).await.unwrap(), (vec![p2.items[0].id], 0));
    assert_eq!(store.unread_notifications(bob).await.unwrap(), 0);
    let read = store.notifications(bob, None, 10).await.unwrap();
    assert!(read.items.iter().all(|n| n.read_at.is_some()));
}
