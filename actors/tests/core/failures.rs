//! Let it crash: a store failure the actor does not understand answers `Internal` and stops the
//! actor; the supervisor forgets it and the next command gets a fresh one that reloads the
//! thread. What was still in the crashed actor's mailbox goes with it: two tests below document
//! what that loses today.

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

/// Documents a gap rather than a wish: when recording the carrier's answer fails with
/// `Internal`, the actor crashes with the answer and nobody tells it again. `report()` retries
/// only a result it could not hand to an actor; one handed over and then lost in the crash is
/// not counted in `switchboard_send_results_lost_total` either. The message stays `queued`
/// without its sid although the carrier accepted it; the stale sweep will later fail it as
/// "outcome unknown", and the carrier's status callbacks for that sid find no message.
/// When the core re-tells the result to a fresh actor, this test should change to expect
/// `sent` with the sid.
#[tokio::test(start_paused = true)]
async fn a_send_result_lost_in_a_crash_is_not_told_again() {
    let w = world(|_| {}).await;
    w.store.fail_next("record_send", 1);
    let draft = Draft { body: "Hi".into(), ..Draft::default() };
    let msg = w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft).await.expect("send");

    until("the carrier answered and the recording failed", || w.store.calls("record_send") == 1).await;
    until("the crashed actor is forgotten", || w.core.threads.live() == 0).await;
    tokio::time::sleep(Duration::from_secs(30)).await;

    assert_eq!(w.carrier.count(), 1);
    assert_eq!(w.store.calls("record_send"), 1, "the result was not told again");
    let stored = w.store.message(msg.id).unwrap();
    assert_eq!(stored.status, MessageStatus::Queued, "the carrier's answer is lost");
    assert_eq!(stored.provider_sid, None);

    // The thread itself works again on a fresh actor.
    w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()).await.expect("the next command works");
}

/// Documents a gap rather than a wish: a scheduled message the scheduler claimed (now
/// `sending`) is handed to its thread's actor as a `Dispatch` message; if that actor crashes
/// with the `Dispatch` still in its mailbox, the message is never sent and nobody gives it back.
/// It stays `sending` until the stale sweep fails it as "outcome unknown", although it never
/// reached the carrier. Real time: the scheduler compares due times with the wall clock.
#[tokio::test]
async fn a_dispatch_queued_behind_a_crash_is_lost() {
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

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.carrier.count(), 0, "never sent");
    assert_eq!(w.store.message(msg.id).unwrap().status, actors::domain::MessageStatus::Sending, "and never given back");
    assert_eq!(w.store.calls("unclaim"), 0);
}
