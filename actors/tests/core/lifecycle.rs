//! Thread actors start on first use, stop when idle, and come back (reloading the thread) on
//! the next command.

use crate::support::*;
use std::time::Duration;

const IDLE: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn an_idle_thread_actor_stops_and_the_next_command_reloads_it() {
    let w = world(|c| {
        c.thread_idle = IDLE;
        c.typing_ttl = Duration::from_secs(3);
    })
    .await;
    assert_eq!(w.core.threads.live(), 0, "nothing runs before first use");

    w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()).await.expect("first command");
    assert_eq!(w.core.threads.live(), 1);
    assert_eq!(w.store.calls("load_thread"), 1);

    // Not before its idle time…
    tokio::time::sleep(IDLE - Duration::from_secs(2)).await;
    assert_eq!(w.core.threads.live(), 1, "still up before the idle time");

    // …but soon after (the actor looks every TTL/3 = 1 s).
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(w.core.threads.live(), 0, "the idle actor stopped");

    // The next command starts a fresh actor, which loads the thread again.
    w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()).await.expect("command after the stop");
    assert_eq!(w.core.threads.live(), 1);
    assert_eq!(w.store.calls("load_thread"), 2, "the fresh actor reloaded the thread");
}

/// A campaign's send wakes a thread nobody is looking at: its actor stops soon after (a large
/// campaign would otherwise hold one actor per recipient for the whole idle time), while a
/// thread an agent touched keeps the full idle time.
#[tokio::test(start_paused = true)]
async fn an_actor_that_only_did_background_work_stops_early() {
    let w = world(|c| {
        c.thread_idle = Duration::from_secs(300);
        c.typing_ttl = Duration::from_secs(3);
    })
    .await;
    let message = actors::ports::CampaignMessage {
        team: w.team.id,
        thread: w.thread,
        campaign: actors::ids::CampaignId::new(),
        recipient: 1,
        claim: uuid::Uuid::new_v4(),
        body: "Spring sale".into(),
        content: None,
    };
    w.core.threads.campaign_send(w.thread, actors::thread::CampaignSend { message, slot: None }).await.expect("cast");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(w.core.threads.live(), 1, "started for the campaign");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(w.core.threads.live(), 0, "stopped well before the idle time");

    // An agent's command makes it a watched thread again: the full idle time.
    w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()).await.expect("command");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(w.core.threads.live(), 1, "an agent's thread keeps its actor");
}
