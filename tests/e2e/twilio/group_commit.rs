//! A node killed (SIGKILL) while inbound webhooks of many threads share its group commits: every
//! webhook it answered 200 is stored, once; Twilio retries all of them (those unanswered and, to
//! be sure, those answered too) at another node, and then each MessageSid is stored exactly once,
//! with one `message.created` each and gapless seqs in every thread.

use crate::support::twilio::*;
use crate::support::*;
use futures_util::future::join_all;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const SENDERS: usize = 60;
const PER_SENDER: usize = 6;

fn sender(i: usize) -> String {
    format!("+1415556{:04}", 1000 + i)
}

/// Posts a signed inbound webhook to `base`; `true` when it was answered 200.
async fn post(http: &reqwest::Client, base: &str, account: &Account, params: &[(String, String)]) -> bool {
    let path = "/webhooks/twilio/messages";
    let sig = web::twilio_signature::sign(&account.token, &format!("{base}{path}"), params);
    let sent = http.post(format!("{base}{path}")).header("X-Twilio-Signature", sig).form(params).send().await;
    matches!(sent, Ok(r) if r.status() == 200)
}

#[sqlx::test]
async fn a_node_killed_amid_group_commits_loses_nothing_it_answered(_p: PgPoolOptions, opts: PgConnectOptions) {
    let url = db_url(&opts);
    let mut doomed = ServerProcess::start(&url, &[("DATABASE_MAX_CONNECTIONS", "12")]).await;
    let a = sign_up_admin(&doomed.base, "Alice").await;
    let account = Account::new();
    add_channel(&a, "sms", &account, None).await;
    let http = reqwest::Client::new();
    // Warm senders: their contacts and threads exist.
    for i in 0..SENDERS {
        assert!(post(&http, &doomed.base, &account, &inbound_params(&account, &sender(i), &format!("SMwarm{i:04}"), "hi")).await);
    }

    // A burst, all at once; the node dies after the first answers come back.
    let burst: Vec<Form> = (0..PER_SENDER)
        .flat_map(|k| (0..SENDERS).map(move |i| (i, k)))
        .map(|(i, k)| inbound_params(&account, &sender(i), &format!("SMburst{i:04}x{k}"), &format!("burst {k}")))
        .collect();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let doomed_base = doomed.base.clone();
    let posts = burst.iter().map(|params| {
        let (http, base, account, answered) = (&http, doomed_base.clone(), &account, answered.clone());
        async move {
            let ok = post(http, &base, account, params).await;
            if ok {
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            ok
        }
    });
    let killer = async {
        while answered.load(std::sync::atomic::Ordering::SeqCst) < SENDERS {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        doomed.kill9();
    };
    let (oks, ()) = tokio::join!(join_all(posts), killer);
    let ok_sids: Vec<String> = burst.iter().zip(&oks).filter(|(_, ok)| **ok).map(|(p, _)| sid_of(p)).collect();
    assert!(ok_sids.len() >= SENDERS && ok_sids.len() < burst.len(), "killed mid-burst: {} of {} answered", ok_sids.len(), burst.len());

    // Everything answered 200 is there, once.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT provider_sid FROM messages WHERE provider_sid LIKE 'SMburst%'").fetch_all(&db).await.unwrap();
    for sid in &ok_sids {
        assert_eq!(stored.iter().filter(|s| *s == sid).count(), 1, "{sid} was answered 200 and must be stored once");
    }

    // Twilio retries every one at another node: each is stored exactly once.
    let survivor = ServerProcess::start(&url, &[]).await;
    for params in &burst {
        assert!(post(&http, &survivor.base, &account, params).await, "a retry is answered 200");
    }
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT provider_sid, count(*) FROM messages WHERE provider_sid LIKE 'SMburst%' GROUP BY 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(counts.len(), burst.len());
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    let created: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM thread_events WHERE type = 'message.created' AND payload->>'provider_sid' LIKE 'SMburst%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(created as usize, burst.len(), "one message.created per message");
    // Every thread's log is gapless and ends at its seq.
    let gaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM threads t WHERE t.last_seq <> (SELECT count(*) FROM thread_events e WHERE e.thread_id = t.id)
            OR t.last_seq <> (SELECT COALESCE(max(seq), 0) FROM thread_events e WHERE e.thread_id = t.id)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(gaps, 0, "a thread whose seqs have a gap or a repeat");
}

fn sid_of(params: &Form) -> String {
    params.iter().find(|(k, _)| k == "MessageSid").map(|(_, v)| v.clone()).unwrap()
}
