//! Group commit: inbound messages, status callbacks, and scheduled sends taken for the carrier
//! and answered, of different threads at the same time, are written by one statement, and each
//! still gets exactly what a statement of its own would have given it (its events and seqs, a
//! duplicate, its canceled messages, its opt-out, its order); a batch that fails because of one
//! message fails only that one.

use crate::*;
use actors::domain::*;
use actors::ids::ThreadId;
use actors::ports::*;
use futures_util::future::join_all;
use sqlx::PgPool;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

/// `n` more threads of the fixture's team, one contact each.
async fn threads(store: &PgStore, p: &Principal, n: usize) -> Vec<ThreadId> {
    let mut out = Vec::new();
    for i in 0..n {
        let contact =
            store.create_contact(p.team.id, &NewContact::basic(&format!("P{i}"), &format!("+1415555{:04}", 2000 + i))).await.unwrap();
        out.push(store.thread_for_contact(p.team.id, contact.id, ChannelKind::Sms, None).await.unwrap().0);
    }
    out
}

#[sqlx::test]
async fn messages_of_many_threads_arriving_together_share_statements_and_each_gets_its_own_outcome(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, first) = fixture(&store).await;
    let mut all = vec![first];
    all.extend(threads(&store, &p, 39).await);
    // One thread has a cancel-on-reply message waiting; one message was stored before.
    let later = NewOutbound {
        team: p.team.id,
        thread: all[7],
        author: None,
        body: "later".into(),
        media_urls: vec![],
        send_at: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
        cancel_on_reply: true,
        content: None,
    };
    let waiting = store.create_outbound(later).await.unwrap().value;
    assert!(matches!(store.record_inbound(inbound(&p, all[3], "SMdup", "first")).await.unwrap(), InboundOutcome::Stored(_)));

    let before = store.statements();
    let jobs = all.iter().enumerate().map(|(i, t)| {
        let sid = if i == 3 { "SMdup".to_owned() } else { format!("SMbatch{i}") };
        let msg = NewInbound { opt_out: (i == 11).then_some(true), ..inbound(&p, *t, &sid, &format!("hello {i}")) };
        store.record_inbound(msg)
    });
    let outcomes = join_all(jobs).await;
    let statements = store.statements() - before;
    assert!(statements < 20, "40 messages took {statements} statements: not batched");

    for (i, (outcome, thread)) in outcomes.into_iter().zip(&all).enumerate() {
        let outcome = outcome.unwrap();
        if i == 3 {
            assert!(matches!(outcome, InboundOutcome::Duplicate), "a stored MessageSid writes nothing");
            continue;
        }
        let InboundOutcome::Stored(c) = outcome else { panic!("{i} stored") };
        assert_eq!((c.value.thread_id, c.thread.id), (*thread, *thread));
        assert_eq!(c.value.body, format!("hello {i}"));
        assert_eq!(c.events[0].data, serde_json::to_value(&c.value).unwrap());
        assert_eq!(c.thread.last_preview, format!("hello {i}"));
        assert_eq!(c.thread.contact.opted_out_at.is_some(), i == 11, "{i}: only its own contact opts out");
        let seqs: Vec<i64> = c.events.iter().map(|e| e.seq).collect();
        let stored = store.events_after(p.team.id, *thread, p.user.id, 0, 10).await.unwrap();
        if i == 7 {
            assert_eq!(c.events.len(), 2, "message.created and the canceled message's update");
            assert_eq!(c.events[1].data["id"], serde_json::json!(waiting.id));
            assert_eq!((seqs, c.thread.scheduled_count), (vec![2, 3], 0));
        } else {
            assert_eq!(seqs, [1], "{i}: its message is its thread's first event");
        }
        assert_eq!(stored.last().map(|e| e.seq), Some(c.thread.last_seq), "{i}: the log ends at the thread's seq");
        assert_eq!(c.thread.unread_count, 1);
    }
}

#[sqlx::test]
async fn a_batch_that_fails_because_of_one_message_fails_only_that_one(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, first) = fixture(&store).await;
    let mut all = vec![first];
    all.extend(threads(&store, &p, 9).await);
    // A thread that does not exist (deleted meanwhile) breaks the statement of its batch.
    all.insert(5, ThreadId::new());
    let jobs = all.iter().enumerate().map(|(i, t)| store.record_inbound(inbound(&p, *t, &format!("SMf{i}"), "hi")));
    let outcomes = join_all(jobs).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 5 {
            assert!(outcome.is_err(), "the missing thread's message fails");
        } else {
            assert!(matches!(outcome, Ok(InboundOutcome::Stored(_))), "{i}: {outcome:?}");
        }
    }
}

#[sqlx::test]
async fn status_callbacks_arriving_together_share_statements_and_each_moves_its_own_message(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, first) = fixture(&store).await;
    let mut all = vec![first];
    all.extend(threads(&store, &p, 19).await);
    // Two sent messages on each of 20 threads.
    let mut sids = Vec::new();
    for (i, thread) in all.iter().enumerate() {
        for k in 0..2 {
            let msg = send_now(&store, &p, *thread).await;
            let sid = format!("SMst{i}x{k}");
            store.record_send(msg.id, SendOutcome::Sent { sid: sid.clone() }).await.unwrap().unwrap();
            sids.push((*thread, msg.id, sid));
        }
    }
    let seq_before = store.thread(p.team.id, all[0]).await.unwrap().last_seq;
    let before = store.statements();
    // Every message delivered at once, one of them twice; a late `sent` for another.
    let mut changes: Vec<(String, MessageStatus)> = sids.iter().map(|(_, _, sid)| (sid.clone(), MessageStatus::Delivered)).collect();
    changes.push(("SMst3x0".into(), MessageStatus::Delivered));
    changes.push(("SMst4x1".into(), MessageStatus::Sent));
    let jobs = changes.iter().map(|(sid, status)| {
        let params = serde_json::json!({ "MessageSid": sid, "MessageStatus": status.as_str() });
        store.apply_status(sid, *status, None, None, params, Some(p.team.id))
    });
    let outcomes: Vec<_> = join_all(jobs).await.into_iter().map(Result::unwrap).collect();
    let statements = store.statements() - before;
    assert!(statements < 30, "42 callbacks took {statements} statements: not batched");

    let moved: Vec<_> = outcomes.iter().flatten().collect();
    assert_eq!(moved.len(), 40, "each message moved once; the repeat and the late one changed nothing");
    for c in &moved {
        assert_eq!(c.value.status, MessageStatus::Delivered);
        assert_eq!(c.events.len(), 1);
        assert_eq!(c.events[0].data, c.value.status_change());
    }
    // Each thread's two changes took the two seqs after its last, in its log, once each.
    for thread in &all {
        let log = store.events_after(p.team.id, *thread, p.user.id, seq_before, 10).await.unwrap();
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [seq_before + 1, seq_before + 2], "{thread}");
        assert!(log.iter().all(|e| e.kind == event::MESSAGE_UPDATED && e.data["status"] == "delivered"));
        assert_eq!(store.thread(p.team.id, *thread).await.unwrap().last_seq, seq_before + 2);
    }
    // Every callback is kept, once per sid and status.
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_receipts WHERE kind = 'status'").fetch_one(&store.pool).await.unwrap();
    assert_eq!(kept, 41);
}

#[sqlx::test]
async fn claims_of_many_threads_taken_and_answered_together_share_statements_and_keep_each_threads_order(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, first) = fixture(&store).await;
    let mut all = vec![first];
    all.extend(threads(&store, &p, 19).await);
    // Three queued messages on each of 20 threads; on thread 5 one was answered already (the
    // stale sweep failed it), and on thread 9 a status callback beat its answer.
    let mut queued = Vec::new();
    for thread in &all {
        let mut mine = Vec::new();
        for _ in 0..3 {
            mine.push(send_now(&store, &p, *thread).await.id);
        }
        queued.push(mine);
    }
    store.record_send(queued[5][1], SendOutcome::Failed { code: None, reason: "unknown".into() }).await.unwrap().unwrap();
    let early = serde_json::json!({ "MessageSid": "SMans9x0", "MessageStatus": "delivered" });
    assert!(store.apply_status("SMans9x0", MessageStatus::Delivered, None, None, early, Some(p.team.id)).await.unwrap().is_none());
    let seqs_before: Vec<i64> =
        join_all(all.iter().map(|t| store.thread(p.team.id, *t))).await.into_iter().map(|t| t.unwrap().last_seq).collect();

    // Every thread takes its claims for the carrier at once, in its own order.
    let before = store.statements();
    let taken: Vec<_> = join_all(queued.iter().map(|ids| store.begin_sends(ids))).await.into_iter().map(Result::unwrap).collect();
    let statements = store.statements() - before;
    assert!(statements < 15, "20 threads' claims took {statements} statements: not batched");
    for (i, (taken, ids)) in taken.iter().zip(&queued).enumerate() {
        let waiting: Vec<_> = ids.iter().filter(|id| i != 5 || **id != queued[5][1]).copied().collect();
        assert_eq!(taken.iter().map(|o| o.message.id).collect::<Vec<_>>(), waiting, "{i}: those still waiting, in order");
        assert!(taken.iter().all(|o| o.message.thread_id == all[i] && o.to.starts_with('+')));
    }

    // Each thread answers in reverse creation order (the carrier's order), the middle one failed.
    let before = store.statements();
    let jobs = all.iter().zip(&queued).enumerate().map(|(i, (thread, ids))| {
        let answers = ids
            .iter()
            .rev()
            .enumerate()
            .map(|(k, id)| {
                let outcome = match k {
                    1 => SendOutcome::Failed { code: Some(21211), reason: "invalid number".into() },
                    _ => SendOutcome::Sent { sid: format!("SMans{i}x{k}") },
                };
                (*id, outcome)
            })
            .collect();
        store.record_sends(*thread, answers)
    });
    let outcomes: Vec<_> = join_all(jobs).await.into_iter().map(Result::unwrap).collect();
    let statements = store.statements() - before;
    assert!(statements < 15, "20 threads' answers took {statements} statements: not batched");

    for (i, (outcome, thread)) in outcomes.into_iter().zip(&all).enumerate() {
        let c = outcome.expect("every thread had a message waiting");
        let answered: Vec<_> = queued[i].iter().rev().filter(|id| i != 5 || **id != queued[5][1]).copied().collect();
        assert_eq!(c.thread.id, *thread);
        assert_eq!(c.value.iter().map(|m| m.id).collect::<Vec<_>>(), answered, "{i}: only those waiting, in answer order");
        assert!(c.value.iter().all(|m| m.thread_id == *thread));
        let log = store.events_after(p.team.id, *thread, p.user.id, seqs_before[i], 10).await.unwrap();
        let ids: Vec<_> = log.iter().map(|e| e.data["id"].clone()).collect();
        let expected_log: Vec<_> = if i == 9 {
            // Its first answer's early callback came after it, as a step forward of its own.
            let mut e: Vec<_> = answered.iter().map(|id| serde_json::json!(id)).collect();
            e.push(serde_json::json!(answered[0]));
            e
        } else {
            answered.iter().map(|id| serde_json::json!(id)).collect()
        };
        assert_eq!(ids, expected_log, "{i}: one event per change, in answer order");
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        let gapless: Vec<i64> = (1..=log.len() as i64).map(|k| seqs_before[i] + k).collect();
        assert_eq!(seqs, gapless, "{i}: consecutive seqs after the thread's last");
        assert_eq!(c.thread.last_seq, *gapless.last().unwrap(), "{i}: the summary is the thread's newest");
        assert_eq!(c.events.iter().map(|e| e.seq).collect::<Vec<_>>(), gapless, "{i}: the caller gets every event");
        // Thread 5's middle message was failed before (by the sweep), not by this answer.
        let failed: Vec<_> = c.value.iter().filter(|m| m.status == MessageStatus::Failed).map(|m| m.error_code).collect();
        assert_eq!(failed, if i == 5 { vec![] } else { vec![Some(21211)] }, "{i}: the middle answer failed");
        if i == 9 {
            assert_eq!(c.value[0].status, MessageStatus::Delivered, "the callback that beat the answer is applied");
        }
    }
}

/// Deadlocks Postgres has detected in this test's database so far (its statistics reach the
/// view within about a second of the transaction that counted them).
async fn deadlocks(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetch_one(pool).await.unwrap()
}

#[sqlx::test]
async fn batches_of_two_nodes_that_share_threads_wait_for_each_other_instead_of_deadlocking(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, first) = fixture(&store).await;
    let mut all = vec![first];
    all.extend(threads(&store, &p, 59).await);
    // Two nodes (each its own batches) record the answers of overlapping sets of threads of
    // different sizes at the same moment, round after round (a set's size changes the order in
    // which a plan without `lk` would reach the shared threads).
    let nodes = [PgStore::from_pool(pool.clone()), PgStore::from_pool(pool.clone())];
    let before = deadlocks(&pool).await;
    for round in 0..10 {
        let mut jobs = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let mine = if n == 0 { &all[..20 + round * 4] } else { &all[round * 3..] };
            for (k, thread) in mine.iter().enumerate() {
                let id = send_now(&store, &p, *thread).await.id;
                let answer = vec![(id, SendOutcome::Sent { sid: format!("SMdl{round}x{n}x{k}") })];
                jobs.push(node.record_sends(*thread, answer));
            }
        }
        for outcome in join_all(jobs).await {
            assert_eq!(outcome.unwrap().expect("recorded").value.len(), 1);
        }
        // Then their status callbacks, the same way.
        let mut jobs = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let count = if n == 0 { 20 + round * 4 } else { all.len() - round * 3 };
            for k in 0..count {
                let sid = format!("SMdl{round}x{n}x{k}");
                let params = serde_json::json!({ "MessageSid": sid, "MessageStatus": "delivered" });
                jobs.push(async move { node.apply_status(&sid, MessageStatus::Delivered, None, None, params, None).await });
            }
        }
        for outcome in join_all(jobs).await {
            assert!(outcome.unwrap().is_some(), "delivered");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(deadlocks(&pool).await - before, 0, "two batches that share threads deadlocked");
    // Every thread's log is gapless.
    for thread in &all {
        let log = store.events_after(p.team.id, *thread, p.user.id, 0, 100).await.unwrap();
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=log.len() as i64).collect::<Vec<_>>());
    }
}
