//! Sending now: the carrier is asked exactly once, the message ends `sent` with the carrier's
//! sid, and every committed event reaches the thread's viewers in seq order.

use crate::support::*;
use actors::domain::MessageStatus;
use actors::protocol::ChannelName;
use actors::rules::Draft;
use std::time::Duration;

fn draft(body: &str) -> Draft {
    Draft { body: body.into(), ..Draft::default() }
}

#[tokio::test(start_paused = true)]
async fn send_now_reaches_the_carrier_once_and_ends_sent_with_its_sid() {
    let w = world(|_| {}).await;
    let mut viewer = Socket::on(&w.core, "1.1", &ChannelName::Thread(w.thread).to_string());

    let msg = w.core.threads.send(w.team.id, w.thread, w.team.agent.clone(), draft("Your order shipped")).await.expect("send");
    assert_eq!(msg.status, MessageStatus::Queued, "answered once stored, before the carrier");

    until("the message is sent", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Sent)).await;
    // Nothing more happens later: one request, one answer recorded.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(w.carrier.count(), 1, "the carrier was asked exactly once");
    let req = &w.carrier.requests()[0];
    assert_eq!(req.to, w.contact.phone);
    assert_eq!(req.body, "Your order shipped");
    assert_eq!(req.status_callback, format!("http://127.0.0.1:8080/webhooks/twilio/status?message={}", msg.id), "names our message");
    let stored = w.store.message(msg.id).expect("stored");
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.provider_sid, Some(w.carrier.sids()[0].clone()), "the carrier's sid is kept");
    assert_eq!(w.store.calls("record_send"), 1);

    // The viewer got the message's events in seq order, the last one the `sent` message.
    let frames: Vec<_> =
        viewer.frames().iter().filter(|f| f["event"].as_str().is_some_and(|e| e.starts_with("message."))).cloned().collect();
    let seqs: Vec<i64> = frames.iter().map(|f| f["data"]["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, vec![1, 2], "created then updated, in seq order: {frames:?}");
    assert_eq!(frames[0]["event"], "message.created");
    assert_eq!(frames[1]["event"], "message.updated");
    assert_eq!(frames[1]["data"]["data"]["status"], "sent");
    assert_eq!(frames[1]["data"]["data"]["provider_sid"], stored.provider_sid.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_commands_reaches_viewers_in_seq_order() {
    let w = world(|_| {}).await;
    w.carrier.set_delay(Some(Duration::from_millis(30)));
    let mut viewer = Socket::on(&w.core, "1.1", &ChannelName::Thread(w.thread).to_string());
    let threads = &w.core.threads;
    let (team, thread, agent) = (w.team.id, w.thread, &w.team.agent);
    let sends = (0..5).map(|i| threads.send(team, thread, agent.clone(), draft(&format!("message {i}"))));
    let notes = (0..5).map(|i| threads.add_note(team, thread, agent.clone(), format!("note {i}"), actors::domain::Visibility::Public));
    let (sent, noted) = tokio::join!(futures_util::future::join_all(sends), futures_util::future::join_all(notes));
    assert!(sent.iter().all(Result::is_ok), "{sent:?}");
    assert!(noted.iter().all(Result::is_ok), "{noted:?}");
    until("every send is recorded", || w.store.calls("record_send") == 5).await;
    settle().await;

    let seqs: Vec<i64> = viewer.frames().iter().filter_map(|f| f["data"]["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=15).collect::<Vec<i64>>(), "5 created + 5 notes + 5 updated, gapless and in order");
}
