//! Scheduled sends: claimed when due and sent once, on paused time (the core's clock,
//! `actors::clock`, follows tokio's clock when it is paused).

use crate::support::*;
use actors::domain::MessageStatus;
use actors::rules::Draft;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_scheduled_message_is_claimed_and_sent_once_when_due() {
    let w = world(|_| {}).await;
    let at = actors::clock::now() + Duration::from_secs(10);
    let draft = Draft { body: "Reminder: tomorrow 9am".into(), send_at: Some(at), ..Draft::default() };
    let msg = w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft).await.expect("schedule");
    assert_eq!(msg.status, MessageStatus::Scheduled);
    assert_eq!(msg.scheduled_at, Some(at));

    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(actors::clock::now() < at);
    assert_eq!(w.carrier.count(), 0, "nothing is sent before it is due");
    assert_eq!(w.store.message(msg.id).unwrap().status, MessageStatus::Scheduled);

    until("the scheduled message is sent", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Sent)).await;
    assert!(w.carrier.received_at()[0] >= at, "the carrier was not asked before the message was due");

    // A minute more of scheduler rounds (it polls every second) changes nothing.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(w.carrier.count(), 1, "sent exactly once");
    assert_eq!(w.carrier.requests()[0].body, "Reminder: tomorrow 9am");
    let stored = w.store.message(msg.id).unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.provider_sid, Some(w.carrier.sids()[0].clone()));
    assert_eq!(w.store.calls("begin_send"), 1);
}
