//! The runner's statements: the audience snapshot when a campaign starts (set-based, one
//! transaction), the claims of recipients (`FOR UPDATE SKIP LOCKED`, so nodes never share one),
//! and the housekeeping (requeue dead claims, finish, due campaigns, the metrics claim).

use super::{CAMPAIGN_COLUMNS, CampaignRow, audience_binds, audience_sql, campaigns};
use crate::store::contacts::{CONTACT_COLUMNS, ContactRow};
use crate::store::{PgStore, StoreError};
use actors::domain::Contact;
use actors::ids::*;
use actors::ports::*;
use actors::rules::campaigns::Campaign;
use time::OffsetDateTime;
use uuid::Uuid;

/// Starts a draft or scheduled campaign and fixes its recipients: one row per contact of the
/// audience, in the audience's order; a contact named again is a `duplicate` row, an opted-out
/// one is skipped, and (for a free-form WhatsApp body) one who has not written in 24 hours.
pub(super) async fn start_campaign(store: &PgStore, team: TeamId, id: CampaignId, plan: &StartPlan) -> Result<Campaign, StoreError> {
    let mut tx = store.begin().await?;
    let sql = format!(
        "UPDATE campaigns k SET status = 'running', body = $3, started_at = now(), updated_at = now()
         WHERE k.id = $1 AND k.team_id = $2 AND k.deleted_at IS NULL AND k.status IN ('draft', 'scheduled')
         RETURNING {CAMPAIGN_COLUMNS}"
    );
    let rows: Vec<CampaignRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).bind(team.0).bind(&plan.body).fetch_all(tx.conn()).await?;
    let Some(campaign) = rows.into_iter().next().map(Campaign::try_from).transpose()? else {
        drop(tx);
        return Err(store.changed_or_why(team, id, None, "started").await.err().unwrap_or(StoreError::NotFound("campaign")));
    };
    let (list, tag, ids) = audience_binds(&campaign.audience);
    let sql = format!(
        "INSERT INTO campaign_recipients (campaign_id, contact_id, phone, status, skip_reason)
         SELECT $5, x.id, x.phone, CASE WHEN x.reason IS NULL THEN 'queued' ELSE 'skipped' END, x.reason
         FROM (SELECT a.id, a.phone, a.ord,
                      CASE WHEN row_number() OVER (PARTITION BY a.phone ORDER BY a.ord) > 1 THEN 'duplicate'
                           WHEN a.opted_out_at IS NOT NULL THEN 'opted_out'
                           WHEN $6 AND NOT EXISTS (
                               SELECT 1 FROM threads t JOIN messages m ON m.thread_id = t.id
                               WHERE t.contact_id = a.id AND t.channel_id = $7 AND m.direction = 'inbound'
                                 AND m.created_at > now() - interval '24 hours') THEN 'outside_whatsapp_window'
                      END AS reason
               FROM {}) x
         ORDER BY x.ord",
        audience_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.0)
        .bind(list)
        .bind(tag)
        .bind(ids)
        .bind(id.0)
        .bind(plan.skip_outside_window)
        .bind(campaign.channel_id.0)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(campaign)
}

pub(super) async fn running_campaigns(store: &PgStore) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns k WHERE k.status = 'running' ORDER BY k.started_at");
    let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(store.db()).await?;
    campaigns(rows)
}

pub(super) async fn due_campaigns(store: &PgStore, now: OffsetDateTime) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns k
         WHERE k.status = 'scheduled' AND k.send_at <= $1 AND k.deleted_at IS NULL ORDER BY k.send_at LIMIT 100"
    );
    let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).fetch_all(store.db()).await?;
    campaigns(rows)
}

/// Takes up to `want` sends of a sender's pace shared by every node (GCRA on the sender's row,
/// one statement under its lock): as many as fit between its theoretical arrival time and now
/// plus `burst`, moving that time on by their share of a second. A sender first seen gets its
/// row (one more statement, once).
pub(super) async fn take_pace(
    store: &PgStore,
    sender: &str,
    per_second: f64,
    want: u32,
    burst: std::time::Duration,
) -> Result<u32, StoreError> {
    if want == 0 || per_second <= 0.0 {
        return Ok(0);
    }
    // The burst is at least one send's interval, or a slow sender would never fit one.
    let burst = burst.as_secs_f64().max(1.0 / per_second);
    for _ in 0..2 {
        let taken: Option<i32> = sqlx::query_scalar(
            "WITH cur AS (
                SELECT GREATEST(tat, clock_timestamp()) AS start, clock_timestamp() AS now
                  FROM campaign_pace WHERE sender = $1 FOR UPDATE),
              took AS (
                SELECT start, LEAST($3::int, GREATEST(0, floor((extract(epoch FROM now - start) + $4) * $2)::int)) AS n FROM cur)
             UPDATE campaign_pace p SET tat = took.start + make_interval(secs => took.n / $2)
               FROM took WHERE p.sender = $1
             RETURNING took.n",
        )
        .bind(sender)
        .bind(per_second)
        .bind(want as i32)
        .bind(burst)
        .fetch_optional(store.db())
        .await?;
        if let Some(n) = taken {
            return Ok(n.max(0) as u32);
        }
        sqlx::query("INSERT INTO campaign_pace (sender) VALUES ($1) ON CONFLICT DO NOTHING").bind(sender).execute(store.db()).await?;
    }
    Ok(0)
}

/// Claims queued recipients of a running campaign (one statement): the claim skips contacts
/// who opted out or were deleted since the start, and answers the others with their contact.
pub(super) async fn claim_recipients(
    store: &PgStore,
    campaign: CampaignId,
    limit: i64,
    now: OffsetDateTime,
) -> Result<Vec<ClaimedRecipient>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        contact: ContactRow,
        r_id: i64,
        r_claim: Uuid,
    }
    let sql = format!(
        "WITH k AS (SELECT id FROM campaigns WHERE id = $1 AND status = 'running'),
              picked AS (
                SELECT r.id FROM campaign_recipients r, k
                WHERE r.campaign_id = k.id AND r.status = 'queued' AND r.not_before <= $3
                ORDER BY r.not_before, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED),
              claimed AS (
                UPDATE campaign_recipients r SET
                    status = CASE WHEN c.opted_out_at IS NOT NULL OR c.deleted_at IS NOT NULL THEN 'skipped' ELSE 'sending' END,
                    skip_reason = CASE WHEN c.opted_out_at IS NOT NULL THEN 'opted_out'
                                       WHEN c.deleted_at IS NOT NULL THEN 'contact_deleted' END,
                    claim_id = gen_random_uuid(), claimed_at = now(), updated_at = now()
                FROM picked p, contacts c
                WHERE r.id = p.id AND c.id = r.contact_id
                RETURNING r.id, r.status, r.claim_id, r.contact_id)
         SELECT {CONTACT_COLUMNS}, claimed.id AS r_id, claimed.claim_id AS r_claim
         FROM claimed JOIN contacts c ON c.id = claimed.contact_id
         WHERE claimed.status = 'sending' ORDER BY claimed.id"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(campaign.0).bind(limit).bind(now).fetch_all(store.db()).await?;
    Ok(rows.into_iter().map(|r| ClaimedRecipient { id: r.r_id, claim: r.r_claim, contact: Contact::from(r.contact) }).collect())
}

/// The contacts' threads on `channel`, created when missing without an event and unlisted (not in
/// the inbox until they have activity; one transaction).
pub(super) async fn campaign_threads(
    store: &PgStore,
    team: TeamId,
    channel: ChannelId,
    contacts: &[ContactId],
) -> Result<Vec<(ContactId, ThreadId)>, StoreError> {
    let ids: Vec<Uuid> = contacts.iter().map(|c| c.0).collect();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO threads (id, team_id, contact_id, channel_id, listed)
         SELECT gen_random_uuid(), $1, u.id, $2, false FROM unnest($3::uuid[]) AS u(id)
         ON CONFLICT (team_id, contact_id, channel_id) DO NOTHING",
    )
    .bind(team.0)
    .bind(channel.0)
    .bind(&ids)
    .execute(tx.conn())
    .await?;
    // One probe of the (team, contact, channel) key per contact. Written as `contact_id =
    // ANY($3)`, the planner may scan every thread of the team and channel and filter them (it did,
    // with no statistics yet on a table the campaign is filling: 15 ms for five contacts at
    // 20,000 threads, growing with every recipient); the `LIMIT 1` keeps each probe its own.
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT u.id, t.id FROM unnest($3::uuid[]) AS u(id)
         CROSS JOIN LATERAL (SELECT id FROM threads WHERE team_id = $1 AND contact_id = u.id AND channel_id = $2 LIMIT 1) t",
    )
    .bind(team.0)
    .bind(channel.0)
    .bind(&ids)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|(c, t)| (ContactId(c), ThreadId(t))).collect())
}

/// Gives claimed recipients back unsent: held until a time (quiet hours), or as they were.
pub(super) async fn requeue_recipients(store: &PgStore, recipients: &[(i64, Option<OffsetDateTime>)]) -> Result<(), StoreError> {
    if recipients.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = recipients.iter().map(|r| r.0).collect();
    let until: Vec<Option<OffsetDateTime>> = recipients.iter().map(|r| r.1).collect();
    sqlx::query(
        "UPDATE campaign_recipients r SET status = 'queued', claim_id = NULL, claimed_at = NULL,
                not_before = COALESCE(u.until, r.not_before), updated_at = now()
         FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, until)
         WHERE r.id = u.id AND r.status = 'sending' AND r.message_id IS NULL",
    )
    .bind(&ids)
    .bind(&until)
    .execute(store.db())
    .await?;
    Ok(())
}

pub(super) async fn skip_recipients(store: &PgStore, ids: &[i64], reason: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE campaign_recipients SET status = 'skipped', skip_reason = $2, updated_at = now()
         WHERE id = ANY($1) AND status = 'sending' AND message_id IS NULL",
    )
    .bind(ids)
    .bind(reason)
    .execute(store.db())
    .await?;
    Ok(())
}

/// Claims older than `older_than` that never became a message go back to the queue: their
/// message was never stored, so no carrier request was made.
pub(super) async fn requeue_stale_claims(store: &PgStore, older_than: OffsetDateTime) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE campaign_recipients SET status = 'queued', claim_id = NULL, claimed_at = NULL, updated_at = now()
         WHERE status = 'sending' AND message_id IS NULL AND claimed_at < $1",
    )
    .bind(older_than)
    .execute(store.db())
    .await?;
    Ok(done.rows_affected())
}

/// The count rows of connections that are gone (not in `pg_stat_activity`) move into the rows
/// of "backend 0", which only this statement writes: one row per outcome however many
/// connections a long campaign's pools went through. A row some connection holds locked is left
/// for the next fold (`SKIP LOCKED`: a fold never waits on a writer, so it cannot deadlock with
/// one), and one fold runs at a time across nodes (a transaction-scoped advisory lock; a node
/// that does not get it folds nothing this time).
pub(super) async fn fold_campaign_counts(store: &PgStore) -> Result<u64, StoreError> {
    let folded: i64 = sqlx::query_scalar(
        "WITH turn AS (SELECT pg_try_advisory_xact_lock(hashtext('campaign_counts_fold')) AS ours),
         dead AS (
            SELECT k.ctid AS row FROM campaign_counts k
            WHERE (SELECT ours FROM turn) AND k.backend <> 0
              AND k.backend <> ALL(ARRAY(SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))
            FOR UPDATE SKIP LOCKED),
         gone AS (DELETE FROM campaign_counts k USING dead WHERE k.ctid = dead.row RETURNING k.*),
         kept AS (
            INSERT INTO campaign_counts AS k (campaign_id, status, skip_reason, error_code, reason, backend, n, replied, opted_out)
            SELECT campaign_id, status, skip_reason, error_code, reason, 0, sum(n), sum(replied), sum(opted_out)
            FROM gone GROUP BY 1, 2, 3, 4, 5
            ON CONFLICT (campaign_id, status, skip_reason, error_code, reason, backend) DO UPDATE
            SET n = k.n + excluded.n, replied = k.replied + excluded.replied, opted_out = k.opted_out + excluded.opted_out)
         SELECT count(*) FROM gone",
    )
    .fetch_one(store.db())
    .await?;
    Ok(folded as u64)
}

pub(super) async fn finish_campaigns(store: &PgStore) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!(
        "UPDATE campaigns k SET status = 'done', finished_at = now(), updated_at = now()
         WHERE k.status = 'running'
           AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = k.id AND r.status IN ('queued', 'sending'))
         RETURNING {CAMPAIGN_COLUMNS}"
    );
    let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(store.db()).await?;
    campaigns(rows)
}

pub(super) async fn claim_metrics(store: &PgStore, every: std::time::Duration) -> Result<Vec<(CampaignId, TeamId)>, StoreError> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE campaigns SET metrics_at = now()
         WHERE (status IN ('running', 'paused') OR finished_at > now() - interval '10 minutes')
           AND deleted_at IS NULL AND metrics_at < now() - make_interval(secs => $1)
         RETURNING id, team_id",
    )
    .bind(every.as_secs_f64())
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().map(|(c, t)| (CampaignId(c), TeamId(t))).collect())
}
