//! Let it crash: a store failure the actor does not understand answers `Internal` and stops the
//! actor; the supervisor forgets it and the next command gets a fresh one that reloads the
//! thread. What must not be lost with a crashed actor's mailbox is not: a send's result is told
//! again to a fresh actor, and a claimed message that never reached the carrier is given back.

use crate::support::*;
use actors::DomainError;
use actors::domain::MessageStatus;
use actors::rules::Draft;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test(start_paused = true)]
async fn a_store_failure_answers_internal_and_the_next_command_gets_a_fresh_actor() {
    let w = world(|_| {}).await;
    let (team, thread, admin) = (w.team.id, w.thread, &w.team.admin);
    w.core.threads.mark_read(team, thread, admin.clone()).await.expect("warm up");
    assert_eq!(w.store.calls("load_thread"), 1);

    w.store.fail_next("mark_read", 1);
    let failed = w.core.threads.mark_read(team, thread, admin.clone()).await;
    assert!(matches!(failed, Err(DomainError::Internal(_))), "answered as a 500: {failed:?}");

    // Right away, the next command on the thread works, on a fresh actor that reloaded it.
    let summary = w.core.threads.mark_read(team, thread, admin.clone()).await.expect("the next command works");
    assert_eq!(summary.id, thread);
    assert_eq!(w.store.calls("load_thread"), 2, "a fresh actor reloaded the thread");
    assert_eq!(w.core.threads.live(), 1, "the crashed actor was forgotten, the fresh one registered");
}

/// When recording the carrier's answer fails with `Internal`, the actor crashes, and the answer
/// is told again to a fresh actor, which records it: the message ends `sent` with its sid.
#[tokio::test(start_paused = true)]
async fn a_send_result_is_told_again_after_the_actor_crashed_recording_it() {
    let w = world(|_| {}).await;
    w.store.fail_next("record_send", 1);
    let draft = Draft { body: "Hi".into(), ..Draft::default() };
    let msg = w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft).await.expect("send");

    until("the carrier answered and the recording failed", || w.store.calls("record_send") >= 1).await;
    tokio::time::sleep(Duration::from_secs(30)).await;

    assert_eq!(w.carrier.count(), 1, "the carrier was asked once");
    assert_eq!(w.store.calls("record_send"), 2, "the result was told again, once");
    let stored = w.store.message(msg.id).unwrap();
    assert_eq!(stored.status, MessageStatus::Sent, "the carrier's answer is recorded");
    assert_eq!(stored.provider_sid, Some(w.carrier.sids()[0].clone()));

    // The thread itself works again on a fresh actor.
    w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()).await.expect("the next command works");
}

/// A scheduled message the scheduler claimed (now `sending`) is handed to its thread's actor as
/// a `Dispatch`; if that actor crashes with the `Dispatch` still in its mailbox, the claim is
/// given back (it never reached the carrier), and the next wake sends it once. Real time: the
/// scheduler compares due times with the wall clock.
#[tokio::test]
async fn a_dispatch_queued_behind_a_crash_is_given_back_and_sent_once() {
    let w = world(|_| {}).await;
    let (team, thread, admin) = (w.team.id, w.thread, &w.team.admin);
    let at = OffsetDateTime::now_utc() + Duration::from_millis(300);
    let draft = Draft { body: "later".into(), send_at: Some(at), ..Draft::default() };
    let msg = w.core.threads.send(team, thread, admin.clone(), draft).await.expect("schedule");

    // The actor is busy with a slow command that will crash it when the message falls due.
    w.store.set_latency("mark_read", Duration::from_millis(1000));
    w.store.fail_next("mark_read", 1);
    let failed = w.core.threads.mark_read(team, thread, admin.clone()).await;
    assert!(matches!(failed, Err(actors::DomainError::Internal(_))), "{failed:?}");
    assert_eq!(w.store.calls("claim_due"), 1, "claimed while the actor was busy");

    until("the claim is given back and the message sent", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Sent))
        .await;
    assert!(w.store.calls("unclaim") >= 1, "the dropped dispatch gave its claim back");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.carrier.count(), 1, "sent exactly once");
}
