//! Scheduled sends: claimed when due and sent once.
//!
//! On real time, not paused: the scheduler compares due times with the wall clock
//! (`OffsetDateTime::now_utc()`), which paused time does not move, so a message scheduled 10 s
//! ahead would only fall due after 10 real seconds. The test schedules 400 ms ahead instead.

use crate::support::*;
use actors::domain::MessageStatus;
use actors::rules::Draft;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test]
async fn a_scheduled_message_is_claimed_and_sent_once_when_due() {
    let w = world(|_| {}).await;
    let at = OffsetDateTime::now_utc() + Duration::from_millis(400);
    let draft = Draft { body: "Reminder: tomorrow 9am".into(), send_at: Some(at), ..Draft::default() };
    let msg = w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft).await.expect("schedule");
    assert_eq!(msg.status, MessageStatus::Scheduled);
    assert_eq!(msg.scheduled_at, Some(at));

    tokio::time::sleep(Duration::from_millis(150)).await;
    if OffsetDateTime::now_utc() < at {
        assert_eq!(w.carrier.count(), 0, "nothing is sent before it is due");
        assert_eq!(w.store.message(msg.id).unwrap().status, MessageStatus::Scheduled);
    }

    until("the scheduled message is sent", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Sent)).await;
    assert!(w.carrier.received_at()[0] >= at, "the carrier was not asked before the message was due");

    // A few more scheduler rounds (it polls every second) change nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.carrier.count(), 1, "sent exactly once");
    assert_eq!(w.carrier.requests()[0].body, "Reminder: tomorrow 9am");
    let stored = w.store.message(msg.id).unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.provider_sid, Some(w.carrier.sids()[0].clone()));
    assert_eq!(w.store.calls("begin_send"), 1);
}
