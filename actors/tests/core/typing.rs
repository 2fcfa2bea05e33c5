//! Typing lives in the thread actor with its expiry: a latecomer is told who is typing, and a
//! typist who goes quiet is announced stopped after `typing_ttl`.

use crate::support::*;
use actors::protocol::ChannelName;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(6);

#[tokio::test(start_paused = true)]
async fn a_typist_is_announced_to_latecomers_and_stops_after_the_ttl() {
    let w = world(|c| c.typing_ttl = TTL).await;
    let channel = ChannelName::Thread(w.thread).to_string();
    let typist = w.team.agent.id.to_string();

    // Nobody runs the thread yet: typing starts its actor.
    w.core.threads.typing(w.thread, w.team.agent.id, true);
    until("the thread's actor runs", || w.core.threads.live() == 1).await;

    // A viewer opens the thread afterwards and is told who is typing.
    let mut late = Socket::on(&w.core, "1.1", &channel);
    w.core.threads.viewer_joined(w.thread, late.conn.clone());
    settle().await;
    let typing = late.events("client-typing");
    assert_eq!(typing.len(), 1, "the latecomer hears of the typist once: {typing:?}");
    assert_eq!(typing[0]["user_id"], typist);
    assert_eq!(typing[0]["typing"], true);

    // Still typing just before the TTL is up.
    tokio::time::sleep(TTL - Duration::from_secs(1)).await;
    assert_eq!(late.events("client-typing").len(), 1, "no stop before the TTL");

    // After the TTL (and the actor's next tick, every TTL/3), the stop goes out on the channel.
    tokio::time::sleep(Duration::from_secs(1) + TTL / 3 + Duration::from_millis(100)).await;
    let typing = late.events("client-typing");
    assert_eq!(typing.len(), 2, "a stop frame after the TTL: {typing:?}");
    assert_eq!(typing[1]["user_id"], typist);
    assert_eq!(typing[1]["typing"], false);

    // A viewer joining now hears of nobody.
    let mut later = Socket::on(&w.core, "1.2", &channel);
    w.core.threads.viewer_joined(w.thread, later.conn.clone());
    settle().await;
    assert!(later.events("client-typing").is_empty());
}
