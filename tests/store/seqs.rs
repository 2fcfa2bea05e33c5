//! Seqs: unique and gapless per thread under concurrent writers, and private events kept for their author.

use crate::*;
use actors::domain::*;
use actors::ports::*;
use sqlx::PgPool;
use switchboard::store::PgStore;

#[sqlx::test]
async fn concurrent_writers_get_gapless_increasing_seqs(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let mut tasks = vec![];
    for i in 0..40 {
        let store = store.clone();
        let team = p.team.id;
        let author = p.user.id;
        tasks.push(tokio::spawn(async move {
            store.add_note(team, thread, author, &format!("note {i}"), Visibility::Public, &[]).await.unwrap().events[0].seq
        }));
    }
    let mut seqs = vec![];
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
    let events = store.events_after(p.team.id, thread, p.user.id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 40);
}

#[sqlx::test]
async fn private_events_are_only_for_their_author(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    store.add_note(p.team.id, thread, p.user.id, "mine", Visibility::Private, &[]).await.unwrap();
    store.add_note(p.team.id, thread, p.user.id, "ours", Visibility::Public, &[]).await.unwrap();
    let stranger = actors::ids::UserId::new();
    let seen = store.events_after(p.team.id, thread, stranger, 0, 10).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].data["body"], "ours");
    assert_eq!(store.events_after(p.team.id, thread, p.user.id, 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.notes(p.team.id, thread, stranger).await.unwrap().len(), 1);
}

/// The single-statement writers and the transactional ones share one seq per thread: under
/// concurrent sends, inbound messages and notes it stays unique and gapless.
#[sqlx::test]
async fn mixed_concurrent_writers_get_gapless_seqs(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let mut tasks = vec![];
    for i in 0..15 {
        let (s1, s2, s3) = (store.clone(), store.clone(), store.clone());
        let (team, author) = (p.team.id, p.user.id);
        let msg = inbound(&p, thread, &format!("SMc{i}"), "hi");
        tasks.push(tokio::spawn(async move {
            let new = NewOutbound {
                team,
                thread,
                author: None,
                body: format!("out {i}"),
                media_urls: vec![],
                send_at: None,
                cancel_on_reply: false,
                content: None,
            };
            let c = s1.create_outbound(new).await.unwrap();
            let sent = s1.record_send(c.value.id, SendOutcome::Sent { sid: format!("SMo{i}") }).await.unwrap().unwrap();
            vec![c.events[0].seq, sent.events[0].seq]
        }));
        tasks.push(tokio::spawn(async move {
            let InboundOutcome::Stored(c) = s2.record_inbound(msg).await.unwrap() else { panic!() };
            c.events.iter().map(|e| e.seq).collect()
        }));
        tasks.push(tokio::spawn(async move {
            vec![s3.add_note(team, thread, author, &format!("note {i}"), Visibility::Public, &[]).await.unwrap().events[0].seq]
        }));
    }
    let mut seqs = vec![];
    for t in tasks {
        seqs.extend(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=60).collect::<Vec<i64>>());
    assert_eq!(store.events_after(p.team.id, thread, p.user.id, 0, 100).await.unwrap().len(), 60);
    assert_eq!(store.thread(p.team.id, thread).await.unwrap().last_seq, 60);
}
