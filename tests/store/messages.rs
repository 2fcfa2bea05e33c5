//! Messages: idempotent inbound, forward-only statuses, claims, cancel-on-reply, stale sends, early callbacks.

use crate::*;
use actors::domain::*;
use actors::ports::*;
use serde_json::json;
use sqlx::PgPool;
use switchboard::store::PgStore;
use time::{Duration, OffsetDateTime};

#[sqlx::test]
async fn inbound_is_idempotent_by_message_sid(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    assert!(matches!(store.record_inbound(inbound(&p, thread, "SM1", "hi")).await.unwrap(), InboundOutcome::Stored(_)));
    assert!(matches!(store.record_inbound(inbound(&p, thread, "SM1", "hi")).await.unwrap(), InboundOutcome::Duplicate));
    let page = store.messages(p.team.id, thread, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(store.thread(p.team.id, thread).await.unwrap().unread_count, 1);
}

#[sqlx::test]
async fn status_only_moves_forward(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let msg = send_now(&store, &p, thread).await;
    store.record_send(msg.id, SendOutcome::Sent { sid: "SMx".into() }).await.unwrap().unwrap();
    assert!(store.apply_status("SMx", MessageStatus::Delivered, None, None, json!({}), None).await.unwrap().is_some());
    assert!(store.apply_status("SMx", MessageStatus::Sent, None, None, json!({}), None).await.unwrap().is_none());
    assert!(store.apply_status("SMx", MessageStatus::Queued, None, None, json!({}), None).await.unwrap().is_none());
    assert!(store.apply_status("SMunknown", MessageStatus::Sent, None, None, json!({}), None).await.unwrap().is_none());
    let after = message(&store, &p, thread, msg.id).await;
    assert_eq!(after.status, MessageStatus::Delivered);
    assert!(after.delivered_at.is_some());
}

#[sqlx::test]
async fn each_due_message_is_claimed_once_and_a_cancel_never_races_a_claim(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let at = OffsetDateTime::now_utc() + Duration::milliseconds(300);
    let mut ids = vec![];
    for i in 0..300 {
        let m = store
            .create_outbound(NewOutbound {
                team: p.team.id,
                thread,
                author: None,
                body: format!("m{i}"),
                media_urls: vec![],
                send_at: Some(at),
                cancel_on_reply: false,
                content: None,
            })
            .await
            .unwrap();
        ids.push(m.value.id);
    }
    // One is canceled before it falls due.
    store.cancel_scheduled(p.team.id, ids[0], p.user.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // Four claimers at once, in batches.
    let mut tasks = vec![];
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = vec![];
            loop {
                let batch = store.claim_due(OffsetDateTime::now_utc(), 25).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.message));
            }
        }));
    }
    let mut claimed = vec![];
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let total = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(total, 299, "every due message claimed");
    assert_eq!(claimed.len(), 299, "and none twice");
    assert!(!claimed.contains(&ids[0]), "the canceled one is never claimed");
    // A claimed message can no longer be canceled or edited.
    let err = store.cancel_scheduled(p.team.id, ids[1], p.user.id).await.unwrap_err();
    assert!(matches!(err, actors::DomainError::Conflict(_)));
}

#[sqlx::test]
async fn a_reply_cancels_only_cancel_on_reply_messages(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let at = OffsetDateTime::now_utc() + Duration::hours(1);
    let new = |cancel| NewOutbound {
        team: p.team.id,
        thread,
        author: None,
        body: "later".into(),
        media_urls: vec![],
        send_at: Some(at),
        cancel_on_reply: cancel,
        content: None,
    };
    let a = store.create_outbound(new(true)).await.unwrap().value;
    let b = store.create_outbound(new(false)).await.unwrap().value;
    let InboundOutcome::Stored(c) = store.record_inbound(inbound(&p, thread, "SM2", "actually never mind")).await.unwrap() else {
        panic!()
    };
    assert_eq!(c.events.len(), 2, "message.created and one message.updated");
    assert_eq!(c.events[1].data["id"], json!(a.id));
    assert_eq!(c.events[1].data["status"], "canceled");
    assert_eq!(message(&store, &p, thread, b.id).await.status, MessageStatus::Scheduled);
}

#[sqlx::test]
async fn stale_sends_fail_as_outcome_unknown(pool: PgPool) {
    let store = PgStore::from_pool(pool.clone());
    let (p, thread) = fixture(&store).await;
    let m = send_now(&store, &p, thread).await;
    sqlx::query("UPDATE messages SET status = 'sending', claimed_at = now() - interval '1 hour' WHERE id = $1")
        .bind(m.id.0)
        .execute(&pool)
        .await
        .unwrap();
    let cutoff = OffsetDateTime::now_utc() - Duration::minutes(2);
    let stale = store.stale_sends(cutoff, 10).await.unwrap();
    assert_eq!(stale, vec![(thread, m.id)]);
    let failed = store.fail_unknown(m.id, cutoff).await.unwrap().expect("failed");
    assert_eq!(failed.value.status, MessageStatus::Failed);
    assert!(failed.value.error_reason.as_deref().unwrap().contains("outcome unknown"));
    assert!(store.fail_unknown(m.id, cutoff).await.unwrap().is_none(), "once");
    // A send still waiting for its budget learns it must not go out.
    assert!(!store.touch_claim(m.id).await.unwrap());
    // A late carrier answer does not resurrect it.
    assert!(store.record_send(m.id, SendOutcome::Sent { sid: "SMlate".into() }).await.unwrap().is_none());
}

#[sqlx::test]
async fn generated_settings_are_kept_and_the_first_writer_wins(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let first = store.setting_or_init("pusher_key", || "one".into()).await.unwrap();
    let second = store.setting_or_init("pusher_key", || "two".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

#[sqlx::test]
async fn early_status_callbacks_are_applied_when_the_send_is_recorded(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let m = send_now(&store, &p, thread).await;
    // The carrier's callbacks beat its answer to the send: the webhook kept them as receipts.
    store.record_receipt(p.team.id, "status", Some("SMearly"), json!({ "MessageStatus": "delivered", "ErrorCode": "0" })).await.unwrap();
    store.record_receipt(p.team.id, "status", Some("SMearly"), json!({ "MessageStatus": "sent" })).await.unwrap();
    let before = store.statements();
    let done = store.record_send(m.id, SendOutcome::Sent { sid: "SMearly".into() }).await.unwrap().unwrap();
    assert_eq!(store.statements() - before, 2, "the answer, then the kept callbacks as one step");
    assert_eq!(done.value.status, MessageStatus::Delivered);
    assert_eq!(done.value.error_code, None);
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.events[0].data["status"], "sent");
    assert_eq!(done.events[1].seq, done.events[0].seq + 1);
    assert_status_event_matches(&store, &p, &done).await;
}

#[sqlx::test]
async fn a_thread_loads_by_id_alone(pool: PgPool) {
    let store = PgStore::from_pool(pool);
    let (p, thread) = fixture(&store).await;
    let before = store.statements();
    let loaded = store.load_thread(thread).await.unwrap().expect("the thread");
    assert_eq!(store.statements() - before, 1);
    assert_eq!((loaded.id, loaded.team_id), (thread, p.team.id));
    assert!(store.load_thread(actors::ids::ThreadId::new()).await.unwrap().is_none());
}
