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
