//! Canned replies over the fakes: who may make and see which reply, rendering one for a
//! conversation (missing variables listed, never sent), and the live events of a change.

use crate::support::*;
use actors::DomainError;
use actors::audit::{Actor, Client};
use actors::domain::{ChannelKind, ReplyScope, event};
use actors::ports::{AccountReads, ReplyReads};
use actors::protocol::ChannelName;
use actors::replies::{Recipient, ReplyChange, ReplyInput};

fn input(scope: ReplyScope, shortcut: &str, body: &str) -> ReplyInput {
    ReplyInput { scope, shortcut: shortcut.into(), title: format!("The {shortcut} reply"), body: body.into() }
}

#[tokio::test(start_paused = true)]
async fn team_replies_are_managed_by_admins_and_personal_ones_by_their_owner() {
    let w = world(|_| {}).await;
    let replies = &w.core.replies;
    let (admin, agent) = (&w.team.admin, &w.team.agent);

    let refused = replies.create(agent, input(ReplyScope::Team, "thanks", "Thanks!")).await.unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)), "{refused:?}");
    let shared = replies.create(admin, input(ReplyScope::Team, "/Thanks", "Thanks, {{contact.first_name}}!")).await.expect("admin");
    assert_eq!((shared.shortcut.as_str(), shared.owner_id), ("thanks", None));
    let mine = replies.create(agent, input(ReplyScope::Personal, "thanks", "Cheers!")).await.expect("same shortcut, other scope");
    assert_eq!(mine.owner_id, Some(agent.id));
    let taken = replies.create(agent, input(ReplyScope::Personal, "THANKS", "Again")).await.unwrap_err();
    assert!(matches!(taken, DomainError::Conflict(_)), "{taken:?}");

    let seen = |page: actors::ports::Page<actors::domain::CannedReply>| page.items.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(seen(replies.list(agent, None, None, 50).await.unwrap()).len(), 2, "the agent sees the team's and their own");
    assert_eq!(seen(replies.list(admin, None, None, 50).await.unwrap()), vec![shared.id], "nobody else sees a personal reply");

    let change = || ReplyChange { title: Some("Renamed".into()), ..ReplyChange::default() };
    assert!(matches!(replies.update(agent, shared.id, change()).await, Err(DomainError::Forbidden(_))));
    assert!(matches!(replies.update(admin, mine.id, change()).await, Err(DomainError::NotFound(_))), "not even an admin");
    assert_eq!(replies.update(agent, mine.id, change()).await.unwrap().title, "Renamed");

    let as_actor = |u: &actors::domain::User| Actor::new(u.clone(), Client::default());
    assert!(matches!(replies.delete(&as_actor(agent), shared.id).await, Err(DomainError::Forbidden(_))));
    assert!(matches!(replies.delete(&as_actor(admin), mine.id).await, Err(DomainError::NotFound(_))));
    replies.delete(&as_actor(admin), shared.id).await.expect("admin deletes the team's reply");
    assert!(matches!(w.store.reply(w.team.id, shared.id).await, Err(DomainError::NotFound(_))));
    let log = w.store.audit_log(w.team.id, None, 10).await.unwrap();
    assert!(log.items.iter().any(|e| e.action == "reply.deleted" && e.target_id == Some(shared.id.to_string())), "the deletion is audited");
}

#[tokio::test(start_paused = true)]
async fn another_teams_reply_is_not_found() {
    let w = world(|_| {}).await;
    let other = team(&w.store, "Globex").await;
    let theirs = w.core.replies.create(&other.admin, input(ReplyScope::Team, "hi", "Hi")).await.unwrap();
    assert!(matches!(w.core.replies.get(&w.team.admin, theirs.id).await, Err(DomainError::NotFound(_))));
    let change = ReplyChange { body: Some("Mine now".into()), ..ReplyChange::default() };
    assert!(matches!(w.core.replies.update(&w.team.admin, theirs.id, change).await, Err(DomainError::NotFound(_))));
    assert!(w.core.replies.list(&w.team.admin, None, None, 50).await.unwrap().items.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_body_renders_for_a_conversation_and_missing_values_block_the_send() {
    let w = world(|_| {}).await;
    let team = w.store.team(w.team.id).await.unwrap();
    let agent = &w.team.agent;
    let to = Recipient::Thread(w.thread);
    let body = "Hi {{contact.first_name}}, {{agent.first_name}} from {{team.name}}. Your email: {{contact.email}}";

    let preview = w.core.replies.preview(agent, &team, to, body).await.expect("preview");
    assert_eq!(preview.text, "Hi Carol, Acme from Acme. Your email: {{contact.email}}");
    assert_eq!(preview.missing, vec!["contact.email"]);

    match w.core.replies.render_for_send(agent, &team, to, body).await {
        Err(DomainError::MissingVariables(missing)) => assert_eq!(missing, vec!["contact.email"]),
        other => panic!("expected missing variables, got {other:?}"),
    }
    let ok = w.core.replies.render_for_send(agent, &team, to, "Thanks {{contact.name}}").await.unwrap();
    assert_eq!(ok, "Thanks Carol");
    let plain = w.core.replies.render_for_send(agent, &team, Recipient::Contact(w.contact.id), "No variables").await.unwrap();
    assert_eq!(plain, "No variables");

    let bad = w.core.replies.preview(agent, &team, to, "Hi {{ contact.first_name ").await.unwrap_err();
    assert!(matches!(bad, DomainError::Invalid { field: "body", .. }), "{bad:?}");

    let other = crate::support::team(&w.store, "Globex").await;
    let (_, their_thread) = contact_thread(&w.store, other.id, "Dave", "+14155550199", ChannelKind::Sms).await;
    let hidden = w.core.replies.preview(agent, &team, Recipient::Thread(their_thread), "Hi").await.unwrap_err();
    assert!(matches!(hidden, DomainError::NotFound("thread")), "{hidden:?}");
}

#[tokio::test(start_paused = true)]
async fn changes_are_live_for_who_may_see_them() {
    let w = world(|_| {}).await;
    let mut team_socket = Socket::on(&w.core, "1.1", &ChannelName::Team(w.team.id).to_string());
    let mut agent_socket = Socket::on(&w.core, "1.2", &ChannelName::User(w.team.agent.id).to_string());
    let mut admin_socket = Socket::on(&w.core, "1.3", &ChannelName::User(w.team.admin.id).to_string());

    let shared = w.core.replies.create(&w.team.admin, input(ReplyScope::Team, "hours", "9 to 5")).await.unwrap();
    let mine = w.core.replies.create(&w.team.agent, input(ReplyScope::Personal, "sig", "— {{agent.name}}")).await.unwrap();
    settle().await;

    let team_events = team_socket.events(event::REPLY_CHANGED);
    assert_eq!(team_events.len(), 1, "only the team reply is told to the team");
    assert_eq!(team_events[0]["reply"]["id"], shared.id.to_string());
    let own = agent_socket.events(event::REPLY_CHANGED);
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["reply"]["id"], mine.id.to_string());
    assert!(admin_socket.events(event::REPLY_CHANGED).is_empty(), "the admin never hears of a personal reply");

    w.core.replies.delete(&Actor::new(w.team.agent.clone(), Client::default()), mine.id).await.unwrap();
    settle().await;
    assert_eq!(agent_socket.events(event::REPLY_DELETED)[0]["id"], mine.id.to_string());
    assert!(team_socket.events(event::REPLY_DELETED).is_empty());
}
