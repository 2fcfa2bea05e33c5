//! Starting thread actors is single-flight per thread with no global lock, and a thread takes
//! at most `max_queued_per_thread` waiting commands before it answers `Busy`.

use crate::support::*;
use actors::DomainError;
use actors::domain::ChannelKind;
use futures_util::future::join_all;
use std::time::Duration;
use tokio::time::Instant;

const LOAD: Duration = Duration::from_millis(50);

#[tokio::test(start_paused = true)]
async fn first_commands_to_many_threads_start_their_actors_in_parallel() {
    let w = world(|_| {}).await;
    let mut threads = vec![];
    for i in 0..200 {
        let (_, thread) = contact_thread(&w.store, w.team.id, &format!("Contact {i}"), &format!("+1650555{i:04}"), ChannelKind::Sms).await;
        threads.push(thread);
    }
    w.store.set_latency("load_thread", LOAD);

    let started = Instant::now();
    let reads = threads.iter().map(|t| w.core.threads.mark_read(w.team.id, *t, w.team.admin.clone()));
    let results = join_all(reads).await;
    let took = started.elapsed();

    assert!(results.iter().all(Result::is_ok), "every first command succeeds");
    assert_eq!(w.store.calls("load_thread"), 200);
    assert_eq!(w.core.threads.live(), 200);
    // One load's time, not 200 of them: a lock held across the load would take 10 s.
    assert!(took < Duration::from_millis(250), "200 cold starts took {took:?}");
}

#[tokio::test(start_paused = true)]
async fn concurrent_first_commands_to_one_thread_load_it_once() {
    let w = world(|_| {}).await;
    w.store.set_latency("load_thread", LOAD);

    let started = Instant::now();
    let reads = (0..50).map(|_| w.core.threads.mark_read(w.team.id, w.thread, w.team.admin.clone()));
    let results = join_all(reads).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(w.store.calls("load_thread"), 1, "one load for 50 concurrent first commands");
    assert_eq!(w.core.threads.live(), 1);
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_thread_with_a_full_queue_answers_busy() {
    let w = world(|c| c.max_queued_per_thread = 2).await;
    let threads = w.core.threads.clone();
    let (team, thread, admin) = (w.team.id, w.thread, w.team.admin.clone());
    threads.mark_read(team, thread, admin.clone()).await.expect("warm up");
    w.store.set_latency("mark_read", Duration::from_secs(1));

    // One command is in its slow store call…
    let busy = tokio::spawn({
        let (threads, admin) = (threads.clone(), admin.clone());
        async move { threads.mark_read(team, thread, admin).await }
    });
    until("the first command is in the store", || w.store.calls("mark_read") == 2).await;
    // …two more wait behind it (the queue's limit)…
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let (threads, admin) = (threads.clone(), admin.clone());
            tokio::spawn(async move { threads.mark_read(team, thread, admin).await })
        })
        .collect();
    settle().await;
    // …so the next one is refused at once, without queueing.
    let started = Instant::now();
    let refused = threads.mark_read(team, thread, admin.clone()).await;
    assert!(matches!(refused, Err(DomainError::Busy)), "{refused:?}");
    assert_eq!(started.elapsed(), Duration::ZERO, "refused without waiting");

    // The others all complete.
    busy.await.unwrap().expect("the command in progress");
    for h in waiting {
        h.await.unwrap().expect("a waiting command");
    }
    assert_eq!(w.store.calls("mark_read"), 4, "the refused command never reached the store");
    // With the queue drained, commands are taken again.
    threads.mark_read(team, thread, admin).await.expect("after the burst");
}
