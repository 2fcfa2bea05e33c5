//! Refusals are answers, not crashes: a NUL byte is `Invalid` before anything is stored, and
//! the commands queued behind it on the same thread go on; another team's thread is "not
//! found", exactly like a missing one.

use crate::support::*;
use actors::DomainError;
use actors::domain::Visibility;
use actors::ids::ThreadId;
use actors::rules::Draft;
use std::time::Duration;

fn draft(body: &str) -> Draft {
    Draft { body: body.into(), ..Draft::default() }
}

#[tokio::test(start_paused = true)]
async fn a_nul_byte_is_invalid_and_the_commands_behind_it_still_run() {
    let w = world(|_| {}).await;
    let threads = &w.core.threads;
    let (team, thread, agent) = (w.team.id, w.thread, &w.team.agent);
    threads.mark_read(team, thread, agent.clone()).await.expect("warm up");
    // A slow first command, so the others queue up behind it in this order.
    w.store.set_latency("mark_read", Duration::from_millis(100));

    let (slow, bad_send, bad_note, note, send) = tokio::join!(
        threads.mark_read(team, thread, agent.clone()),
        threads.send(team, thread, agent.clone(), draft("a\0b")),
        threads.add_note(team, thread, agent.clone(), "x\0".into(), Visibility::Public),
        threads.add_note(team, thread, agent.clone(), "fine".into(), Visibility::Public),
        threads.send(team, thread, agent.clone(), draft("fine")),
    );
    slow.expect("the slow command");
    assert!(matches!(bad_send, Err(DomainError::Invalid { field: "body", .. })), "{bad_send:?}");
    assert!(matches!(bad_note, Err(DomainError::Invalid { field: "body", .. })), "{bad_note:?}");
    assert_eq!(note.expect("the note queued behind").body, "fine");
    assert_eq!(send.expect("the send queued behind").body, "fine");

    // Refused by the rules, before the store: nothing was written, nothing crashed.
    assert_eq!(w.store.calls("create_outbound"), 1);
    assert_eq!(w.store.calls("add_note"), 1);
    assert_eq!(w.store.calls("load_thread"), 1, "the actor never restarted");
    assert_eq!(w.core.threads.live(), 1);
}

#[tokio::test(start_paused = true)]
async fn another_teams_thread_is_not_found_like_a_missing_one() {
    let w = world(|_| {}).await;
    let other = team(&w.store, "Globex").await;
    let threads = &w.core.threads;

    let foreign = threads.add_note(other.id, w.thread, other.admin.clone(), "peek".into(), Visibility::Public).await;
    let missing = threads.add_note(other.id, ThreadId::new(), other.admin.clone(), "peek".into(), Visibility::Public).await;
    let (Err(foreign), Err(missing)) = (foreign, missing) else { panic!("both refused") };
    assert!(matches!(foreign, DomainError::NotFound("thread")), "{foreign:?}");
    assert_eq!(foreign.to_string(), missing.to_string(), "indistinguishable");

    let send = threads.send(other.id, w.thread, other.admin.clone(), draft("peek")).await;
    assert!(matches!(send, Err(DomainError::NotFound("thread"))), "{send:?}");
    let read = threads.mark_read(other.id, w.thread, other.admin.clone()).await;
    assert!(matches!(read, Err(DomainError::NotFound("thread"))), "{read:?}");
    let update = threads
        .update(
            other.id,
            w.thread,
            other.admin.clone(),
            actors::ports::ThreadChange { status: Some(actors::domain::ThreadStatus::Resolved), ..Default::default() },
        )
        .await;
    assert!(matches!(update, Err(DomainError::NotFound("thread"))), "{update:?}");

    // Nothing reached the store's writers, and the thread's log is untouched.
    assert_eq!(w.store.calls("add_note") + w.store.calls("create_outbound") + w.store.calls("mark_read"), 0);
    assert_eq!(w.store.calls("update_thread"), 0);
    assert!(w.store.events(w.thread).is_empty());
}
