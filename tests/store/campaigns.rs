//! A campaign that fails (the runner can never start or go on with it) keeps why, ends, and
//! leaves nobody queued: what was not sent is skipped `campaign_failed`. Only a campaign still
//! in the status the runner saw fails; one that moved meanwhile is left as it is.

use crate::*;
use actors::error::DomainError;
use actors::ids::{CampaignId, ContactId};
use actors::ports::CampaignStore;
use actors::rules::campaigns::{Audience, Campaign, CampaignStatus};

/// A running campaign on the team's SMS number to one new contact (+14155550101, `name`).
struct Started {
    campaign: Campaign,
    sms: Channel,
    contact: Contact,
}

async fn started(store: &PgStore, p: &Principal, name: &str) -> Started {
    let contact = store.create_contact(p.team.id, &NewContact::basic(name, "+14155550101")).await.unwrap();
    let sms = sms_of(store, p).await;
    let campaign = running_campaign(store, p, &sms, Audience::ContactIds(vec![contact.id])).await;
    Started { campaign, sms, contact }
}

async fn sms_of(store: &PgStore, p: &Principal) -> Channel {
    store.channels(p.team.id).await.unwrap().into_iter().find(|c| c.kind == ChannelKind::Sms).unwrap()
}

/// A campaign from the team's SMS number to `audience`, created and started.
async fn running_campaign(store: &PgStore, p: &Principal, sms: &Channel, audience: Audience) -> Campaign {
    let body = "Hi {{contact.first_name}}";
    let new = NewCampaign {
        name: "Spring".into(),
        channel: sms.id,
        body: Some(body.into()),
        template_id: None,
        content_template_id: None,
        content_variables: Default::default(),
        quiet_hours: None,
        audience,
        send_at: None,
    };
    let c = store.create_campaign(p.team.id, p.user.id, &new).await.unwrap();
    let plan = StartPlan { body: Some(body.into()), skip_outside_window: false };
    store.start_campaign(p.team.id, c.id, &plan).await.unwrap()
}

/// `n` new contacts of the team in one statement, phones +1415 `first + i`.
async fn many_contacts(db: &sqlx::PgPool, team: &Team, first: i64, n: i64) -> Vec<ContactId> {
    sqlx::query_scalar(
        "INSERT INTO contacts (id, team_id, phone, name) SELECT gen_random_uuid(), $1, '+1415' || lpad(($2 + i)::text, 7, '0'), 'P' || i
         FROM generate_series(1, $3) AS i RETURNING id",
    )
    .bind(team.id.0)
    .bind(first)
    .bind(n)
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .map(ContactId)
    .collect()
}

#[sqlx::test]
async fn a_failed_campaign_keeps_why_and_skips_whoever_was_still_queued(pool: sqlx::PgPool) {
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let c = started(store, &p, "D").await.campaign;
    assert_eq!(store.campaign_counts(c.id).await.unwrap().queued, 1);

    // The runner saw it paused: it moved meanwhile, so it is not failed.
    let moved = store.fail_campaign(p.team.id, c.id, CampaignStatus::Paused, "channel not found").await;
    assert!(matches!(moved, Err(DomainError::Conflict(_))), "{moved:?}");

    let failed = store.fail_campaign(p.team.id, c.id, CampaignStatus::Running, "channel not found").await.unwrap();
    assert_eq!((failed.status, failed.failure.as_deref()), (CampaignStatus::Failed, Some("channel not found")));
    assert!(failed.finished_at.is_some());
    let counts = store.campaign_counts(c.id).await.unwrap();
    assert_eq!((counts.queued, counts.skipped), (0, 1), "{counts:?}");
    assert_eq!(counts.skipped_by.get("campaign_failed"), Some(&1), "{counts:?}");
    assert_eq!(store.campaign(p.team.id, c.id).await.unwrap().failure.as_deref(), Some("channel not found"));
}

/// Agents first across nodes: a node whose agents were slow marks it for a while, and every
/// node's runner hears it, then it passes.
#[sqlx::test]
async fn a_node_whose_agents_were_slow_holds_every_node_s_campaigns_back_for_a_while(pool: sqlx::PgPool) {
    let node_a = &PgStore::from_pool(pool.clone());
    let node_b = &PgStore::from_pool(pool);
    let hold = std::time::Duration::from_millis(300);
    assert!(!node_a.agents_slowed(false, hold).await.unwrap(), "nobody was slow");
    assert!(node_b.agents_slowed(true, hold).await.unwrap());
    assert!(node_a.agents_slowed(false, hold).await.unwrap(), "node A hears node B's agents");
    tokio::time::sleep(hold + std::time::Duration::from_millis(100)).await;
    assert!(!node_a.agents_slowed(false, hold).await.unwrap(), "and then it passes");
}

/// A campaign's recipient is stored and taken for the carrier in one statement: the quiet message
/// (the inbox row does not move) and what the carrier needs, the same as `begin_send` would load
/// (the channel with its token, the phone, opt-out, the WhatsApp window). Only under the
/// recipient's current claim, and only once.
#[sqlx::test]
async fn a_campaign_recipient_is_stored_and_taken_for_the_carrier_in_one_statement(pool: sqlx::PgPool) {
    use secrecy::ExposeSecret;
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let Started { campaign: c, sms, contact: other } = started(store, &p, "Dee").await;
    let claimed = store.claim_recipients(c.id, 10, OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let threads = store.campaign_threads(p.team.id, sms.id, &[other.id]).await.unwrap();
    let m = CampaignMessage {
        team: p.team.id,
        thread: threads[0].1,
        campaign: c.id,
        recipient: claimed[0].id,
        claim: claimed[0].claim,
        body: "Hi Dee".into(),
        content: None,
    };

    let stale = CampaignMessage { claim: uuid::Uuid::new_v4(), ..m.clone() };
    assert!(store.create_campaign_message(&stale).await.unwrap().is_none(), "not under a claim the recipient no longer holds");

    let before = store.statements();
    let (stored, out) = store.create_campaign_message(&m).await.unwrap().expect("the claim is current");
    assert_eq!(store.statements() - before, 1, "stored and taken for the carrier in one statement");
    assert_eq!((stored.value.status, stored.value.body.as_str()), (MessageStatus::Queued, "Hi Dee"));
    assert_eq!(stored.events.len(), 1);
    assert_eq!(stored.events[0].kind, event::MESSAGE_CREATED);
    assert_eq!((stored.thread.last_message_at, stored.thread.unread_count), (None, 0), "quiet: the inbox row does not move");

    let loaded = store.begin_send(stored.value.id).await.unwrap().expect("still waiting for the carrier");
    assert_eq!(out.message.id, stored.value.id);
    assert_eq!(out.message.body, loaded.message.body);
    assert_eq!((out.to.as_str(), out.opted_out, out.last_inbound_at), (loaded.to.as_str(), loaded.opted_out, loaded.last_inbound_at));
    assert_eq!((out.to.as_str(), out.opted_out), ("+14155550101", false));
    assert_eq!((out.channel.id, out.channel.kind, &out.channel.number), (sms.id, ChannelKind::Sms, &loaded.channel.number));
    assert_eq!(out.channel.auth_token.expose_secret(), loaded.channel.auth_token.expose_secret(), "the token is opened");

    assert!(store.create_campaign_message(&m).await.unwrap().is_none(), "a recipient gets one message");
    let sent = store.record_send(stored.value.id, SendOutcome::Sent { sid: "SMcampaign".into() }).await.unwrap().unwrap();
    assert_eq!(sent.value.status, MessageStatus::Sent);
}

/// Finding a claim's threads probes each contact's (team, contact, channel) key: it reads the
/// threads of those contacts, not every thread of the team on the channel. The table has no
/// statistics yet, as while a first campaign fills it (the planner then scanned the whole team
/// and channel and filtered: 15 ms for five contacts at 20,000 threads, growing with each one).
#[sqlx::test]
async fn a_claim_s_threads_are_found_by_their_key_not_by_scanning_the_team(pool: sqlx::PgPool) {
    // One connection, so the index reads this backend counts are there to be read after each commit.
    let one = one_connection(&pool).await;
    let store = &PgStore::from_pool(one.clone());
    let (p, _) = fixture(store).await;
    let sms = sms_of(store, &p).await;
    let contacts = many_contacts(&one, &p.team, 3_000_000, 5000).await;
    let all = store.campaign_threads(p.team.id, sms.id, &contacts).await.unwrap();
    assert_eq!(all.len(), 5000, "each contact has its thread");

    let index_reads = || reads(&one, "threads", &["idx_tup_fetch", "idx_scan"]);
    let picked: Vec<ContactId> = contacts.iter().step_by(1000).copied().collect();
    let before = index_reads().await;
    let found = store.campaign_threads(p.team.id, sms.id, &picked).await.unwrap();
    let read = index_reads().await - before;
    assert_eq!(found.len(), picked.len());
    for (contact, thread) in &found {
        assert_eq!(all.iter().find(|(c, _)| c == contact).map(|(_, t)| t), Some(thread), "each contact's own thread");
    }
    assert!(read < 100, "finding {} threads read {read} index entries", picked.len());
}

/// Every recipient's outcome by key, counted from the recipients table (what the counts must be).
async fn counted_from_recipients(
    db: &sqlx::PgPool,
    id: CampaignId,
) -> Vec<(String, Option<String>, Option<i32>, Option<String>, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT status, skip_reason, error_code, CASE WHEN error_code IS NULL THEN left(error_reason, 80) END,
                count(*), count(replied_at), count(opted_out_at)
         FROM campaign_recipients WHERE campaign_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .bind(id.0)
    .fetch_all(db)
    .await
    .unwrap()
}

/// The same, from the counts kept as recipients change.
async fn kept_counts(db: &sqlx::PgPool, id: CampaignId) -> Vec<(String, Option<String>, Option<i32>, Option<String>, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT status, skip_reason, error_code, reason, sum(n)::int8, sum(replied)::int8, sum(opted_out)::int8
         FROM campaign_counts WHERE campaign_id = $1 GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4",
    )
    .bind(id.0)
    .fetch_all(db)
    .await
    .unwrap()
}

/// A campaign's counts are kept as its recipients change, whoever changes them and on whichever
/// connection (the snapshot, claims on two nodes, holds and skips, a message's status, a reply,
/// an opt-out, a deleted contact), and reading them does not read the recipients: it used to count
/// every recipient row, every half second while a campaign ran.
#[sqlx::test]
async fn campaign_counts_are_kept_as_recipients_change_and_read_without_reading_them(pool: sqlx::PgPool) {
    let one = one_connection(&pool).await;
    let node_a = &PgStore::from_pool(one.clone());
    let node_b = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(node_a).await;
    let sms = sms_of(node_a, &p).await;
    let mut contacts = many_contacts(&pool, &p.team, 4_000_000, 3000).await;
    sqlx::query("UPDATE contacts SET opted_out_at = now() WHERE id = $1").bind(contacts[1].0).execute(&pool).await.unwrap();
    contacts.push(contacts[2]);
    let c = running_campaign(node_a, &p, &sms, Audience::ContactIds(contacts.clone())).await;
    let same = || async { assert_eq!(kept_counts(&pool, c.id).await, counted_from_recipients(&pool, c.id).await) };
    same().await;
    let k = node_b.campaign_counts(c.id).await.unwrap();
    assert_eq!((k.total, k.queued, k.skipped), (3001, 2999, 2), "{k:?}");

    // Claims on two nodes; some go back held until tomorrow, some as they were, some skipped.
    let now = OffsetDateTime::now_utc();
    let a = node_a.claim_recipients(c.id, 40, now).await.unwrap();
    let b = node_b.claim_recipients(c.id, 40, now).await.unwrap();
    let tomorrow = now + time::Duration::days(1);
    let back: Vec<(i64, Option<OffsetDateTime>)> =
        a[..10].iter().map(|r| (r.id, Some(tomorrow))).chain(a[10..15].iter().map(|r| (r.id, None))).collect();
    node_b.requeue_recipients(&back).await.unwrap();
    node_a.skip_recipients(&b[..5].iter().map(|r| r.id).collect::<Vec<_>>(), "invalid_number").await.unwrap();
    same().await;

    // Messages: one accepted then delivered, one refused with a code, one with a reason only.
    let threads = node_a.campaign_threads(p.team.id, sms.id, &b[5..8].iter().map(|r| r.contact.id).collect::<Vec<_>>()).await.unwrap();
    let mut sent = vec![];
    for r in &b[5..8] {
        let thread = threads.iter().find(|(contact, _)| *contact == r.contact.id).unwrap().1;
        let m =
            CampaignMessage { team: p.team.id, thread, campaign: c.id, recipient: r.id, claim: r.claim, body: "Hi".into(), content: None };
        sent.push(node_a.create_campaign_message(&m).await.unwrap().unwrap().0.value.id);
    }
    node_a.record_send(sent[0], SendOutcome::Sent { sid: "SMkept0".into() }).await.unwrap();
    sqlx::query("UPDATE messages SET status = 'delivered' WHERE id = $1").bind(sent[0].0).execute(&pool).await.unwrap();
    node_b.record_send(sent[1], SendOutcome::Failed { code: Some(21610), reason: "unsubscribed".into() }).await.unwrap();
    node_a.record_send(sent[2], SendOutcome::Failed { code: None, reason: "carrier unreachable".into() }).await.unwrap();
    same().await;

    // A reply, an opt-out, a deleted contact (one sent to, one still queued).
    sqlx::query("UPDATE campaign_recipients SET replied_at = now() WHERE message_id = $1").bind(sent[0].0).execute(&pool).await.unwrap();
    sqlx::query("UPDATE contacts SET opted_out_at = now() WHERE id = $1").bind(b[5].contact.id.0).execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM contacts WHERE id = $1 OR id = $2")
        .bind(b[6].contact.id.0)
        .bind(contacts[2999].0)
        .execute(&pool)
        .await
        .unwrap();
    same().await;
    let k = node_b.campaign_counts(c.id).await.unwrap();
    assert_eq!((k.total, k.sent, k.delivered, k.failed, k.replied, k.opted_out), (2999, 1, 1, 1, 1, 1), "{k:?}");
    assert_eq!((k.held, k.held_until.map(|t| t.unix_timestamp())), (10, Some(tomorrow.unix_timestamp())), "{k:?}");
    assert_eq!(k.failed_by.get("carrier unreachable"), Some(&1), "{k:?}");
    assert_eq!(k.skipped_by.get("invalid_number"), Some(&5), "{k:?}");

    // Reading them reads the held recipients, not the others.
    let rows_read = || reads(&one, "campaign_recipients", &["seq_tup_read", "idx_tup_fetch"]);
    let before = rows_read().await;
    assert_eq!(node_a.campaign_counts(c.id).await.unwrap(), k);
    let read = rows_read().await - before;
    assert!(read <= 20, "reading the counts read {read} recipient rows");

    // A campaign deleted outright takes its counts with it.
    sqlx::query("DELETE FROM campaigns WHERE id = $1").bind(c.id.0).execute(&pool).await.unwrap();
    assert!(kept_counts(&pool, c.id).await.is_empty());
}

/// The count rows of a connection that closed are folded into one row per outcome: the counts
/// read the same, the rows of live connections stay theirs, a second fold finds nothing, and a
/// fold that another one holds the turn of does nothing.
#[sqlx::test]
async fn the_counts_of_closed_connections_are_folded_into_one_row_per_outcome(pool: sqlx::PgPool) {
    let one = one_connection(&pool).await;
    let closing = &PgStore::from_pool(one.clone());
    let store = &PgStore::from_pool(pool.clone());
    let (p, _) = fixture(store).await;
    let sms = sms_of(store, &p).await;
    let contacts = many_contacts(&pool, &p.team, 5_000_000, 50).await;
    let c = running_campaign(closing, &p, &sms, Audience::ContactIds(contacts)).await;
    let now = OffsetDateTime::now_utc();
    let mine = closing.claim_recipients(c.id, 10, now).await.unwrap();
    let theirs = store.claim_recipients(c.id, 5, now).await.unwrap();
    store.skip_recipients(&[mine[0].id, theirs[0].id], "invalid_number").await.unwrap();
    let counts = store.campaign_counts(c.id).await.unwrap();
    let kept = kept_counts(&pool, c.id).await;
    let rows_of = |backend: Option<i32>| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM campaign_counts WHERE campaign_id = $1 AND ($2::int IS NULL AND backend <> 0 OR backend = $2)",
            )
            .bind(c.id.0)
            .bind(backend)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&one).await.unwrap();
    let its_rows = rows_of(Some(pid)).await;
    let live_rows = rows_of(None).await - its_rows;
    assert!(its_rows >= 2 && live_rows >= 2, "rows of the closing connection {its_rows}, of the others {live_rows}");

    // While it is open, its rows are its own.
    assert_eq!(store.fold_campaign_counts().await.unwrap(), 0);
    one.close().await;
    for _ in 0..100 {
        let open: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)").bind(pid).fetch_one(&pool).await.unwrap();
        if !open {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Another fold's turn: this one does nothing.
    let mut turn = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('campaign_counts_fold'))").execute(&mut *turn).await.unwrap();
    assert_eq!(store.fold_campaign_counts().await.unwrap(), 0);
    turn.rollback().await.unwrap();

    assert_eq!(store.fold_campaign_counts().await.unwrap() as i64, its_rows);
    assert_eq!((rows_of(Some(pid)).await, rows_of(None).await, rows_of(Some(0)).await), (0, live_rows, its_rows));
    assert_eq!(kept_counts(&pool, c.id).await, kept);
    assert_eq!(store.campaign_counts(c.id).await.unwrap(), counts);
    assert_eq!(store.fold_campaign_counts().await.unwrap(), 0, "nothing left to fold");
}
