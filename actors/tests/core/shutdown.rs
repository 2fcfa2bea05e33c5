//! Shutdown keeps the promise it makes about sends: one already with the carrier is waited for
//! and its answer recorded; one still waiting for its sender's rate budget is given back for
//! any node to send, and not sent here.

use crate::support::*;
use actors::domain::MessageStatus;
use actors::rules::Draft;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_send_in_flight_and_gives_back_one_waiting_for_its_budget() {
    // One message a second per sender: the second send waits for its budget.
    let w = world(|c| c.send_rate_per_second = 1).await;
    w.carrier.set_delay(Some(Duration::from_secs(3)));
    let send = |body: &str| w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), Draft { body: body.into(), ..Draft::default() });

    let first = send("first").await.expect("first");
    // Only wait without moving the clock, so the carrier's 3 s do not pass yet.
    for _ in 0..100 {
        if w.carrier.count() == 1 {
            break;
        }
        settle().await;
    }
    assert_eq!(w.carrier.count(), 1, "the first send is with the carrier");
    let second = send("second").await.expect("second");
    for _ in 0..100 {
        if w.store.calls("begin_send") == 2 {
            break;
        }
        settle().await;
    }
    assert_eq!(w.store.calls("begin_send"), 2, "the second send waits for its budget");
    assert_eq!(w.carrier.answered(), 0);

    w.core.shutdown().await;

    let first = w.store.message(first.id).unwrap();
    assert_eq!(first.status, MessageStatus::Sent, "the send in flight finished and was recorded");
    assert_eq!(first.provider_sid, Some(w.carrier.sids()[0].clone()));
    let second = w.store.message(second.id).unwrap();
    assert_eq!(second.status, MessageStatus::Scheduled, "given back, due now, for any node");
    assert!(second.scheduled_at.is_some());
    assert_eq!(w.store.calls("unclaim"), 1);
    assert_eq!(w.carrier.count(), 1, "the second was never sent");
    assert_eq!(w.core.threads.live(), 0, "thread actors drained");
}
