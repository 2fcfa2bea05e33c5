//! Automatic assignment's backlog over the fakes, on paused time: a customer who wrote while
//! nobody was online waits unassigned, and gets the first agent who comes online at the next
//! look (by nobody, in the thread's log); while every agent is at the cap the conversation keeps
//! waiting, and it goes to the agent who frees a place. A team with the setting off is never
//! swept.

use crate::support::*;
use actors::domain::{AutoAssignment, ThreadStatus};
use actors::ports::{AssignmentStore, ThreadChange, ThreadReads};
use actors::protocol::{ChannelName, PresenceMember};
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);

fn online(w: &World, user: &actors::domain::User, socket: &str) -> Socket {
    let s = Socket::new(&w.core, socket);
    let member = PresenceMember { user_id: user.id.to_string(), user_info: serde_json::json!({ "name": user.name }) };
    w.core.cluster.subscribe(&ChannelName::Team(w.team.id).to_string(), &s.conn, Some(member));
    s
}

#[tokio::test(start_paused = true)]
async fn a_customer_who_wrote_while_nobody_was_online_gets_the_first_agent_who_comes() {
    let w = world(|c| c.backlog_every = EVERY).await;
    w.store.set_auto_assignment(w.team.id, AutoAssignment { enabled: true, max_open_per_agent: Some(1) }).await.unwrap();
    inbound(&w, "SM-backlog-1", "anyone there?").await;
    tokio::time::sleep(EVERY * 3).await;
    assert_eq!(w.store.thread(w.team.id, w.thread).await.unwrap().assignee_id, None, "nobody online: it waits");

    let _agent = online(&w, &w.team.agent, "1.1");
    tokio::time::sleep(EVERY * 2).await;
    let thread = w.store.thread(w.team.id, w.thread).await.unwrap();
    assert_eq!(thread.assignee_id, Some(w.team.agent.id), "the agent who came online has it");
    let log = w.store.events(w.thread);
    let assigned: Vec<_> = log.iter().filter(|e| e.kind == "thread.updated" && e.data["assignee_id"].is_string()).collect();
    assert_eq!(assigned.len(), 1, "assigned once");
    assert_eq!(assigned[0].actor_id, None, "by nobody: the system did it");

    // The agent is at the cap (1): a second customer waits, then goes to them once they
    // resolve the first.
    let (_, second) = contact_thread(&w.store, w.team.id, "Dan", "+14155550101", actors::domain::ChannelKind::Sms).await;
    inbound_to(&w, second, "+14155550101", "SM-backlog-2", "hello?").await;
    tokio::time::sleep(EVERY * 3).await;
    assert_eq!(w.store.thread(w.team.id, second).await.unwrap().assignee_id, None, "everyone at the cap: it waits");
    let resolve = ThreadChange { status: Some(ThreadStatus::Resolved), ..ThreadChange::default() };
    w.core.threads.update(w.team.id, w.thread, w.team.agent.clone(), resolve).await.unwrap();
    tokio::time::sleep(EVERY * 2).await;
    assert_eq!(w.store.thread(w.team.id, second).await.unwrap().assignee_id, Some(w.team.agent.id));
}

#[tokio::test(start_paused = true)]
async fn a_team_with_automatic_assignment_off_is_never_swept() {
    let w = world(|c| c.backlog_every = EVERY).await;
    inbound(&w, "SM-backlog-off", "hi").await;
    let _agent = online(&w, &w.team.agent, "1.1");
    tokio::time::sleep(EVERY * 5).await;
    assert_eq!(w.store.thread(w.team.id, w.thread).await.unwrap().assignee_id, None);
}
