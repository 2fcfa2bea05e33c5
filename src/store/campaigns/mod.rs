//! Campaigns in Postgres: the campaign rows (create, edit while not started, status changes as
//! conditional writes, soft delete), their counts and recipients, and the audience query that
//! the preview and the start's snapshot share. The runner's statements (snapshot, claims,
//! housekeeping) are in `run.rs`.

mod run;

use super::{PgStore, StoreError, cursor, op};
use crate::store::contacts::{CONTACT_COLUMNS, ContactRow};
use crate::store::lists::LIST_MATCH;
use actors::DomainResult;
use actors::domain::Contact;
use actors::ids::*;
use actors::ports::*;
use actors::rules::campaigns::{Audience, Campaign, CampaignCounts, CampaignStatus, RecipientStatus, skip};
use actors::rules::quiet_hours::QuietHours;
use async_trait::async_trait;
use sqlx::types::Json;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of a `CampaignRow`, from the row aliased `k`.
pub(crate) const CAMPAIGN_COLUMNS: &str = "k.id, k.team_id, k.name, k.status, k.channel_id, k.body, k.template_id, k.content_template_id, \
     k.content_variables, k.quiet_hours, k.audience, k.send_at, k.created_by, k.created_at, k.started_at, k.finished_at, k.failure";

#[derive(sqlx::FromRow)]
pub(crate) struct CampaignRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    status: String,
    channel_id: Uuid,
    body: Option<String>,
    template_id: Option<Uuid>,
    content_template_id: Option<Uuid>,
    content_variables: Json<BTreeMap<String, String>>,
    quiet_hours: Option<Json<QuietHours>>,
    audience: Json<serde_json::Value>,
    send_at: Option<OffsetDateTime>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    started_at: Option<OffsetDateTime>,
    finished_at: Option<OffsetDateTime>,
    failure: Option<String>,
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = StoreError;
    fn try_from(r: CampaignRow) -> Result<Campaign, StoreError> {
        Ok(Campaign {
            id: CampaignId(r.id),
            team_id: TeamId(r.team_id),
            name: r.name,
            status: CampaignStatus::parse(&r.status)
                .ok_or_else(|| StoreError::internal(format!("unknown campaign status {:?}", r.status)))?,
            channel_id: ChannelId(r.channel_id),
            body: r.body,
            template_id: r.template_id,
            content_template_id: r.content_template_id.map(TemplateId),
            content_variables: r.content_variables.0,
            quiet_hours: r.quiet_hours.map(|q| q.0),
            audience: Audience::from_json(&r.audience.0).map_err(|e| StoreError::internal(format!("stored audience: {e}")))?,
            send_at: r.send_at,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            failure: r.failure,
        })
    }
}

pub(crate) fn campaigns(rows: Vec<CampaignRow>) -> Result<Vec<Campaign>, StoreError> {
    rows.into_iter().map(Campaign::try_from).collect()
}

/// The live contacts an audience names, in the snapshot's order (`ord`): a list or segment and a
/// tag by phone, picked contacts as given. Binds: $1 team, $2 list, $3 tag, $4 contact ids.
/// Columns of `a`: `id`, `phone`, `opted_out_at`, `ord`. Each branch reads the contact's columns
/// itself: joining the union back to `contacts` let the planner pick a nested loop over the whole
/// union per contact (quadratic: a 20,000-contact start took minutes).
pub(crate) fn audience_sql() -> String {
    format!(
        "(SELECT c.id, c.phone, c.opted_out_at, row_number() OVER (ORDER BY c.phone) AS ord
          FROM contacts c JOIN contact_lists l ON l.id = $2 AND l.team_id = $1
          WHERE $2::uuid IS NOT NULL AND c.team_id = $1 AND c.deleted_at IS NULL AND {LIST_MATCH}
          UNION ALL
          SELECT c.id, c.phone, c.opted_out_at, row_number() OVER (ORDER BY c.phone)
          FROM contacts c WHERE $3::text IS NOT NULL AND c.team_id = $1 AND c.deleted_at IS NULL AND $3 = ANY(c.tags)
          UNION ALL
          SELECT c.id, c.phone, c.opted_out_at, u.ord
          FROM unnest($4::uuid[]) WITH ORDINALITY AS u(id, ord) JOIN contacts c ON c.id = u.id
          WHERE $4::uuid[] IS NOT NULL AND c.team_id = $1 AND c.deleted_at IS NULL) a"
    )
}

/// The binds of an audience for `audience_sql` ($2, $3, $4).
pub(crate) fn audience_binds(audience: &Audience) -> (Option<Uuid>, Option<String>, Option<Vec<Uuid>>) {
    match audience {
        Audience::ListId(id) | Audience::SegmentId(id) => (Some(id.0), None, None),
        Audience::Tag(tag) => (None, Some(tag.clone()), None),
        Audience::ContactIds(ids) => (None, None, Some(ids.iter().map(|i| i.0).collect())),
    }
}

fn one(rows: Vec<CampaignRow>) -> Result<Option<Campaign>, StoreError> {
    rows.into_iter().next().map(Campaign::try_from).transpose()
}

impl PgStore {
    /// The campaign, or why a conditional write found none: missing (404) or in another state
    /// (409).
    async fn changed_or_why(&self, team: TeamId, id: CampaignId, row: Option<Campaign>, what: &str) -> Result<Campaign, StoreError> {
        if let Some(c) = row {
            return Ok(c);
        }
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1 AND team_id = $2 AND deleted_at IS NULL")
                .bind(id.0)
                .bind(team.0)
                .fetch_optional(self.db())
                .await?;
        match status {
            None => Err(StoreError::NotFound("campaign")),
            Some(s) => Err(StoreError::Conflict(format!("a {s} campaign cannot be {what}"))),
        }
    }
}

impl PgStore {
    /// Moves a campaign from one of `from` to `to` (with `failure` when it fails). A campaign
    /// that ends without finishing (canceled, failed) leaves nobody queued: what was not sent is
    /// skipped, with the reason.
    async fn move_campaign(
        &self,
        team: TeamId,
        id: CampaignId,
        from: &[CampaignStatus],
        to: CampaignStatus,
        failure: Option<&str>,
    ) -> Result<Campaign, StoreError> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE campaigns k SET status = $3, updated_at = now(), failure = $5,
                    finished_at = CASE WHEN $3 IN ('done', 'canceled', 'failed') THEN now() ELSE finished_at END
             WHERE k.id = $1 AND k.team_id = $2 AND k.deleted_at IS NULL AND k.status = ANY($4)
             RETURNING {CAMPAIGN_COLUMNS}"
        );
        let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .bind(team.0)
            .bind(to.as_str())
            .bind(&from)
            .bind(failure)
            .fetch_all(tx.conn())
            .await?;
        let row = one(rows)?;
        let left = match to {
            CampaignStatus::Canceled => Some(skip::CANCELED),
            CampaignStatus::Failed => Some(skip::FAILED),
            _ => None,
        };
        if let (Some(_), Some(reason)) = (&row, left) {
            sqlx::query(
                "UPDATE campaign_recipients SET status = 'skipped', skip_reason = $2, updated_at = now()
                 WHERE campaign_id = $1 AND status = 'queued'",
            )
            .bind(id.0)
            .bind(reason)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        self.changed_or_why(team, id, row, "changed so").await
    }
}

#[async_trait]
impl CampaignStore for PgStore {
    async fn create_campaign(&self, team: TeamId, by: UserId, c: &NewCampaign) -> DomainResult<Campaign> {
        op(async move {
            let sql = format!(
                "INSERT INTO campaigns AS k (id, team_id, name, channel_id, body, template_id, audience, send_at, created_by,
                                             content_template_id, content_variables, quiet_hours)
                 SELECT $1, $2, $3, ch.id, $5, $6, $7, $8, $9, $10, $11, $12 FROM channels ch WHERE ch.id = $4 AND ch.team_id = $2
                 RETURNING {CAMPAIGN_COLUMNS}"
            );
            let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(CampaignId::new().0)
                .bind(team.0)
                .bind(&c.name)
                .bind(c.channel.0)
                .bind(&c.body)
                .bind(c.template_id)
                .bind(Json(c.audience.to_json()))
                .bind(c.send_at)
                .bind(by.0)
                .bind(c.content_template_id.map(|t| t.0))
                .bind(Json(&c.content_variables))
                .bind(c.quiet_hours.as_ref().map(Json))
                .fetch_all(self.db())
                .await?;
            one(rows)?.ok_or_else(|| StoreError::invalid("channel_id", "not a number of the team"))
        })
        .await
    }

    async fn campaign(&self, team: TeamId, id: CampaignId) -> DomainResult<Campaign> {
        op(async move {
            let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns k WHERE k.id = $1 AND k.team_id = $2 AND k.deleted_at IS NULL");
            let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).bind(team.0).fetch_all(self.db()).await?;
            one(rows)?.ok_or(StoreError::NotFound("campaign"))
        })
        .await
    }

    async fn campaigns(&self, team: TeamId, after: Option<&str>, limit: i64) -> DomainResult<Page<Campaign>> {
        op(async move {
            let after = after.map(cursor::decode).transpose()?;
            let sql = format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns k
                 WHERE k.team_id = $1 AND k.deleted_at IS NULL AND ($2::timestamptz IS NULL OR (k.created_at, k.id) < ($2, $3))
                 ORDER BY k.created_at DESC, k.id DESC LIMIT $4"
            );
            let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(after.map(|a| a.0))
                .bind(after.map(|a| a.1))
                .bind(limit + 1)
                .fetch_all(self.db())
                .await?;
            let mut items = campaigns(rows)?;
            let more = items.len() as i64 > limit;
            items.truncate(limit.max(0) as usize);
            let next_cursor = if more { items.last().map(|c| cursor::encode(c.created_at, c.id.0)) } else { None };
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn update_campaign(&self, team: TeamId, id: CampaignId, p: &CampaignPatch) -> DomainResult<Campaign> {
        op(async move {
            let content = p.content.clone().unwrap_or_default();
            let sql = format!(
                "UPDATE campaigns k SET name = COALESCE($3, name),
                        channel_id = COALESCE((SELECT ch.id FROM channels ch WHERE ch.id = $4 AND ch.team_id = $2), channel_id),
                        body = CASE WHEN $5 THEN $6 ELSE body END,
                        template_id = CASE WHEN $5 THEN $7 ELSE template_id END,
                        content_template_id = CASE WHEN $5 THEN $11 ELSE content_template_id END,
                        content_variables = CASE WHEN $5 THEN $12 ELSE COALESCE($13, content_variables) END,
                        quiet_hours = CASE WHEN $14 THEN $15 ELSE quiet_hours END,
                        audience = COALESCE($8, audience),
                        send_at = CASE WHEN $9 THEN $10 ELSE send_at END,
                        updated_at = now()
                 WHERE k.id = $1 AND k.team_id = $2 AND k.deleted_at IS NULL AND k.status IN ('draft', 'scheduled')
                 RETURNING {CAMPAIGN_COLUMNS}"
            );
            let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(team.0)
                .bind(&p.name)
                .bind(p.channel.map(|c| c.0))
                .bind(p.content.is_some())
                .bind(&content.body)
                .bind(content.template_id)
                .bind(p.audience.as_ref().map(|a| Json(a.to_json())))
                .bind(p.send_at.is_some())
                .bind(p.send_at.flatten())
                .bind(content.content_template_id.map(|t| t.0))
                .bind(Json(&content.content_variables))
                .bind(p.content_variables.as_ref().map(Json))
                .bind(p.quiet_hours.is_some())
                .bind(p.quiet_hours.as_ref().and_then(|q| q.as_ref()).map(Json))
                .fetch_all(self.db())
                .await?;
            let row = one(rows)?;
            self.changed_or_why(team, id, row, "edited: duplicate it instead").await
        })
        .await
    }

    async fn set_campaign_status(
        &self,
        team: TeamId,
        id: CampaignId,
        from: &[CampaignStatus],
        to: CampaignStatus,
    ) -> DomainResult<Campaign> {
        op(self.move_campaign(team, id, from, to, None)).await
    }

    async fn fail_campaign(&self, team: TeamId, id: CampaignId, from: CampaignStatus, failure: &str) -> DomainResult<Campaign> {
        op(self.move_campaign(team, id, &[from], CampaignStatus::Failed, Some(failure))).await
    }

    async fn start_campaign(&self, team: TeamId, id: CampaignId, plan: &StartPlan) -> DomainResult<Campaign> {
        op(run::start_campaign(self, team, id, plan)).await
    }

    async fn delete_campaign(&self, team: TeamId, id: CampaignId) -> DomainResult<Campaign> {
        op(async move {
            let sql = format!(
                "UPDATE campaigns k SET deleted_at = now(), updated_at = now()
                 WHERE k.id = $1 AND k.team_id = $2 AND k.deleted_at IS NULL AND k.status <> 'running'
                 RETURNING {CAMPAIGN_COLUMNS}"
            );
            let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).bind(team.0).fetch_all(self.db()).await?;
            let row = one(rows)?;
            self.changed_or_why(team, id, row, "deleted: pause or cancel it first").await
        })
        .await
    }

    async fn campaign_counts(&self, id: CampaignId) -> DomainResult<CampaignCounts> {
        op(async move {
            // The kept counts (a few rows per connection that wrote them, see the migration
            // `campaign_counts_kept`), and the recipients quiet hours hold, from the queue's
            // index: those whose `not_before` is still to come.
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                Option<String>,
                Option<String>,
                Option<i32>,
                Option<String>,
                i64,
                i64,
                i64,
                i64,
                Option<OffsetDateTime>,
            )> = sqlx::query_as(
                "WITH held AS (
                        SELECT count(*) AS n, max(not_before) AS until FROM campaign_recipients
                        WHERE campaign_id = $1 AND status = 'queued' AND not_before > now())
                     SELECT k.status, k.skip_reason, k.error_code, k.reason,
                            COALESCE(k.n, 0), COALESCE(k.replied, 0), COALESCE(k.opted_out, 0), held.n, held.until
                     FROM held LEFT JOIN (
                        SELECT status, skip_reason, error_code, reason,
                               sum(n)::int8 AS n, sum(replied)::int8 AS replied, sum(opted_out)::int8 AS opted_out
                        FROM campaign_counts WHERE campaign_id = $1 GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) AS k ON true",
            )
            .bind(id.0)
            .fetch_all(self.db())
            .await?;
            let mut k = CampaignCounts::default();
            for (status, skip, code, reason, n, replied, opted_out, held, held_until) in rows {
                k.total += n;
                k.held = held;
                k.held_until = held_until;
                k.replied += replied;
                k.opted_out += opted_out;
                match status.as_deref().and_then(RecipientStatus::parse) {
                    Some(RecipientStatus::Queued) => k.queued += n,
                    Some(RecipientStatus::Sending) => k.sending += n,
                    Some(RecipientStatus::Sent) => k.sent += n,
                    Some(RecipientStatus::Delivered) => {
                        k.sent += n;
                        k.delivered += n;
                    }
                    Some(RecipientStatus::Failed) => {
                        k.failed += n;
                        let key = match (code, reason) {
                            (Some(code), _) => code.to_string(),
                            (None, Some(r)) if r.starts_with("outcome unknown") => "unknown".to_owned(),
                            (None, Some(r)) => r,
                            (None, None) => "unknown".to_owned(),
                        };
                        *k.failed_by.entry(key).or_default() += n;
                    }
                    Some(RecipientStatus::Skipped) => {
                        k.skipped += n;
                        *k.skipped_by.entry(skip.unwrap_or_default()).or_default() += n;
                    }
                    None => {}
                }
            }
            Ok(k)
        })
        .await
    }

    async fn campaign_recipients(&self, team: TeamId, id: CampaignId, after: i64, limit: i64) -> DomainResult<Vec<RecipientRow>> {
        op(async move {
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                i64,
                Uuid,
                String,
                String,
                String,
                Option<String>,
                Option<i32>,
                Option<String>,
                Option<Uuid>,
                Option<OffsetDateTime>,
                Option<OffsetDateTime>,
                OffsetDateTime,
            )> = sqlx::query_as(
                "SELECT r.id, r.contact_id, c.name, r.phone, r.status, r.skip_reason, r.error_code, r.error_reason, r.message_id,
                        r.replied_at, r.opted_out_at, r.updated_at
                 FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id JOIN contacts c ON c.id = r.contact_id
                 WHERE r.campaign_id = $1 AND k.team_id = $2 AND r.id > $3 ORDER BY r.id LIMIT $4",
            )
            .bind(id.0)
            .bind(team.0)
            .bind(after)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| RecipientRow {
                    id: r.0,
                    contact_id: ContactId(r.1),
                    name: r.2,
                    phone: r.3,
                    status: r.4,
                    skip_reason: r.5,
                    error_code: r.6,
                    error_reason: r.7,
                    message_id: r.8.map(MessageId),
                    replied_at: r.9,
                    opted_out_at: r.10,
                    updated_at: r.11,
                })
                .collect())
        })
        .await
    }

    async fn audience_sample(&self, team: TeamId, audience: &Audience, limit: i64) -> DomainResult<Vec<Contact>> {
        op(async move {
            let (list, tag, ids) = audience_binds(audience);
            // The first few of the audience first, then their contacts (a join of five rows).
            let sql = format!(
                "WITH a AS MATERIALIZED (SELECT a.id, a.ord FROM {} WHERE a.opted_out_at IS NULL ORDER BY a.ord LIMIT $5)
                 SELECT {CONTACT_COLUMNS} FROM a JOIN contacts c ON c.id = a.id ORDER BY a.ord",
                audience_sql()
            );
            let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(list)
                .bind(tag)
                .bind(ids)
                .bind(limit)
                .fetch_all(self.db())
                .await?;
            Ok(rows.into_iter().map(Contact::from).collect())
        })
        .await
    }

    async fn running_campaigns(&self) -> DomainResult<Vec<Campaign>> {
        op(run::running_campaigns(self)).await
    }

    async fn due_campaigns(&self, now: OffsetDateTime) -> DomainResult<Vec<Campaign>> {
        op(run::due_campaigns(self, now)).await
    }

    async fn take_pace(&self, sender: &str, per_second: f64, want: u32, burst: std::time::Duration) -> DomainResult<u32> {
        op(run::take_pace(self, sender, per_second, want, burst)).await
    }
    async fn agents_slowed(&self, slow_here: bool, hold: std::time::Duration) -> DomainResult<bool> {
        op(async move {
            let slow: Option<bool> = sqlx::query_scalar(
                "UPDATE campaign_yield SET slow_until = CASE WHEN $1 THEN greatest(slow_until, now() + make_interval(secs => $2))
                                                           ELSE slow_until END
                 RETURNING slow_until > now()",
            )
            .bind(slow_here)
            .bind(hold.as_secs_f64())
            .fetch_optional(self.db())
            .await?;
            Ok(slow.unwrap_or(slow_here))
        })
        .await
    }

    async fn claim_recipients(&self, campaign: CampaignId, limit: i64, now: OffsetDateTime) -> DomainResult<Vec<ClaimedRecipient>> {
        op(run::claim_recipients(self, campaign, limit, now)).await
    }

    async fn requeue_recipients(&self, recipients: &[(i64, Option<OffsetDateTime>)]) -> DomainResult<()> {
        op(run::requeue_recipients(self, recipients)).await
    }

    async fn campaign_threads(&self, team: TeamId, channel: ChannelId, contacts: &[ContactId]) -> DomainResult<Vec<(ContactId, ThreadId)>> {
        op(run::campaign_threads(self, team, channel, contacts)).await
    }

    async fn skip_recipients(&self, ids: &[i64], reason: &str) -> DomainResult<()> {
        op(run::skip_recipients(self, ids, reason)).await
    }

    async fn requeue_stale_claims(&self, older_than: OffsetDateTime) -> DomainResult<u64> {
        op(run::requeue_stale_claims(self, older_than)).await
    }
    async fn fold_campaign_counts(&self) -> DomainResult<u64> {
        op(run::fold_campaign_counts(self)).await
    }

    async fn finish_campaigns(&self) -> DomainResult<Vec<Campaign>> {
        op(run::finish_campaigns(self)).await
    }

    async fn claim_metrics(&self, every: std::time::Duration) -> DomainResult<Vec<(CampaignId, TeamId)>> {
        op(run::claim_metrics(self, every)).await
    }
}
