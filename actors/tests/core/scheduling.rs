//! Scheduled sends: claimed when due and sent once, on paused time (the core's clock,
//! `actors::clock`, follows tokio's clock when it is paused).

use crate::support::*;
use actors::domain::{ChannelKind, MessageStatus};
use actors::ids::{MessageId, ThreadId};
use actors::rules::Draft;
use std::collections::HashMap;
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
    assert_eq!(w.store.calls("begin_sends"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_burst_reaches_the_carrier_once_in_each_threads_due_order_with_seqs_in_that_order() {
    let w = world(|_| {}).await;
    let (_, second) = contact_thread(&w.store, w.team.id, "Dan", "+14155550101", ChannelKind::Sms).await;
    let threads = [w.thread, second];
    // 20 messages on each of two threads, each due 1 ms after the one before it.
    let base = actors::clock::now() + Duration::from_secs(10);
    let mut due: HashMap<ThreadId, Vec<MessageId>> = HashMap::new();
    for i in 0..20u64 {
        for (t, thread) in threads.iter().enumerate() {
            let send_at = Some(base + Duration::from_millis(i));
            let draft = Draft { body: format!("thread {t} message {i}"), send_at, ..Draft::default() };
            let msg = w.core.threads.send(w.team.id, *thread, w.team.agent.clone(), draft).await.expect("schedule");
            due.entry(*thread).or_default().push(msg.id);
        }
    }
    // Each request is answered sooner than the one before it: sends running side by side would
    // be answered, and recorded, in reverse.
    w.carrier.delay_next((0..40u64).rev().map(Duration::from_millis));
    let all_sent = || due.values().flatten().all(|m| w.store.message(*m).is_some_and(|m| m.status == MessageStatus::Sent));
    until("every message is sent", all_sent).await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Each message reached the carrier once, each thread's in due order.
    let requests = w.carrier.requests();
    assert_eq!(requests.len(), 40, "one request per message");
    for (t, thread) in threads.iter().enumerate() {
        let bodies: Vec<String> = requests.iter().filter(|r| r.body.starts_with(&format!("thread {t} "))).map(|r| r.body.clone()).collect();
        let expected: Vec<String> = (0..20).map(|i| format!("thread {t} message {i}")).collect();
        assert_eq!(bodies, expected, "thread {t} reached the carrier out of due order");
        // Its `sent` events have seqs in the same order, once each.
        let sent: Vec<MessageId> = w
            .store
            .events(*thread)
            .iter()
            .filter(|e| e.kind == "message.updated" && e.data["status"] == "sent")
            .map(|e| MessageId(e.data["id"].as_str().unwrap().parse().unwrap()))
            .collect();
        assert_eq!(sent, due[thread], "thread {t}'s sent events are not in due order");
    }
    // Loaded and recorded a batch at a time, not a message at a time.
    assert_eq!(w.store.calls("begin_send"), 0);
    assert!(w.store.calls("begin_sends") <= 8, "{} loads", w.store.calls("begin_sends"));
    assert!(w.store.calls("record_sends") < 20, "{} records for 40 messages", w.store.calls("record_sends"));
}

#[tokio::test(start_paused = true)]
async fn claims_waiting_behind_a_slow_batch_are_kept_fresh_and_sent_not_failed_as_unknown() {
    // A send is taken for lost after 3 s without a fresh claim; the carrier takes 2 s a request.
    let w = world(|c| c.stale_sending_after = Duration::from_secs(3)).await;
    w.carrier.set_delay(Some(Duration::from_secs(2)));
    let now = actors::clock::now();
    let mut ids = Vec::new();
    // Four due together (one batch of 8 s), a fifth due later (queued behind that batch).
    for (i, secs) in [1, 1, 1, 1, 2].into_iter().enumerate() {
        let draft = Draft { body: format!("slow {i}"), send_at: Some(now + Duration::from_secs(secs)), ..Draft::default() };
        ids.push(w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft).await.expect("schedule").id);
    }
    let settled = || {
        ids.iter().all(|m| w.store.message(*m).is_some_and(|m| m.status != MessageStatus::Scheduled && m.status != MessageStatus::Sending))
    };
    until("every message is settled", settled).await;
    let statuses: Vec<_> = ids.iter().map(|m| w.store.message(*m).unwrap()).map(|m| (m.status, m.error_reason)).collect();
    assert!(statuses.iter().all(|(s, _)| *s == MessageStatus::Sent), "{statuses:?}");
    assert_eq!(w.carrier.count(), 5);
}
