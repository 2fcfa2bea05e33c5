//! Automatic assignment's contracts: the setting and the fair pick, and the backlog (the
//! teams due a look, the conversations still waiting for an agent).

use crate::ids::{TeamId, ThreadId, UserId};

/// Automatic assignment's setting and its round robin: off until switched on; the online
/// active members take turns, the one picked longest ago first; an offline one is never
/// picked. `users` are three members of `team`.
pub async fn auto_assignment(store: &dyn crate::ports::Store, team: TeamId, users: [UserId; 3]) {
    use crate::domain::AutoAssignment;
    use crate::ports::PickFor::{AutoAssignment as Auto, Rule};
    assert_eq!(store.auto_assignment(team).await.unwrap(), AutoAssignment::default());
    assert_eq!(store.next_assignee(team, &users, Auto).await.unwrap(), None, "off: nobody is picked");
    assert!(store.next_assignee(team, &users[..1], Rule).await.unwrap() == Some(users[0]), "a rule picks while it is off");
    let on = AutoAssignment { enabled: true, max_open_per_agent: Some(5) };
    store.set_auto_assignment(team, on).await.unwrap();
    assert_eq!(store.auto_assignment(team).await.unwrap(), on);

    let online = &users[..2];
    let mut picks = Vec::new();
    for _ in 0..6 {
        picks.push(store.next_assignee(team, online, Auto).await.unwrap().expect("an online member"));
    }
    assert!(picks.windows(2).all(|w| w[0] != w[1]), "turns are taken: {picks:?}");
    for u in online {
        assert_eq!(picks.iter().filter(|p| *p == u).count(), 3);
    }
    // The third joins: having never been picked, they go first.
    assert_eq!(store.next_assignee(team, &users, Auto).await.unwrap(), Some(users[2]));
    assert_eq!(store.next_assignee(team, &[], Auto).await.unwrap(), None, "nobody online");
    assert_eq!(store.next_assignee(crate::ids::TeamId::new(), online, Auto).await.unwrap(), None, "not that team's members");
    store.set_auto_assignment(team, AutoAssignment { enabled: false, ..on }).await.unwrap();
    assert_eq!(store.next_assignee(team, online, Auto).await.unwrap(), None);
}

/// The backlog: only teams with the setting on are due, once per period; a conversation waits
/// while nobody has it, it is open, and the customer wrote last (within `since`).
/// `thread` is the team's only thread, open and unassigned, with no message yet.
pub async fn backlog(store: &dyn crate::ports::Store, team: TeamId, thread: ThreadId, user: UserId) {
    use crate::domain::{AutoAssignment, ChannelKind, ThreadStatus};
    use crate::ports::{NewInbound, NewOutbound, ThreadChange};
    use std::time::Duration;
    let long_ago = crate::clock::now() - time::Duration::days(3);
    let every = Duration::from_secs(3600);
    assert!(store.claim_backlogs(every).await.unwrap().iter().all(|t| *t != team), "off: never due");
    store.set_auto_assignment(team, AutoAssignment { enabled: true, max_open_per_agent: None }).await.unwrap();
    assert_eq!(store.claim_backlogs(every).await.unwrap(), vec![team]);
    assert!(store.claim_backlogs(every).await.unwrap().is_empty(), "looked at within the period");

    assert!(store.waiting_unassigned(team, long_ago, 10).await.unwrap().is_empty(), "nobody wrote yet");
    let inbound = NewInbound {
        team,
        thread,
        kind: ChannelKind::Sms,
        message_sid: "SM-backlog-contract".into(),
        body: "anyone?".into(),
        media: vec![],
        raw: serde_json::json!({}),
        opt_out: None,
    };
    store.record_inbound(inbound).await.unwrap();
    assert_eq!(store.waiting_unassigned(team, long_ago, 10).await.unwrap(), vec![thread]);
    assert!(store.waiting_unassigned(team, crate::clock::now() + time::Duration::seconds(1), 10).await.unwrap().is_empty());
    assert!(store.waiting_unassigned(team, long_ago, 0).await.unwrap().is_empty());
    assert!(store.waiting_unassigned(TeamId::new(), long_ago, 10).await.unwrap().is_empty(), "another team's");

    let assign = |to: Option<UserId>| ThreadChange { assignee: Some(to), ..ThreadChange::default() };
    store.update_thread(team, thread, Some(user), assign(Some(user))).await.unwrap();
    assert!(store.waiting_unassigned(team, long_ago, 10).await.unwrap().is_empty(), "someone has it");
    store.update_thread(team, thread, Some(user), assign(None)).await.unwrap();
    assert_eq!(store.waiting_unassigned(team, long_ago, 10).await.unwrap(), vec![thread]);
    let resolved = ThreadChange { status: Some(ThreadStatus::Resolved), ..ThreadChange::default() };
    store.update_thread(team, thread, Some(user), resolved).await.unwrap();
    assert!(store.waiting_unassigned(team, long_ago, 10).await.unwrap().is_empty(), "resolved");
    let open = ThreadChange { status: Some(ThreadStatus::Open), ..ThreadChange::default() };
    store.update_thread(team, thread, Some(user), open).await.unwrap();
    // An agent answered: the customer no longer waits.
    let reply = NewOutbound {
        team,
        thread,
        author: Some(user),
        body: "Hello!".into(),
        media_urls: vec![],
        send_at: None,
        cancel_on_reply: false,
        content: None,
    };
    store.create_outbound(reply).await.unwrap();
    assert!(store.waiting_unassigned(team, long_ago, 10).await.unwrap().is_empty(), "the agent wrote last");
}
