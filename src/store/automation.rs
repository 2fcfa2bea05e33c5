//! Automation: a team's business hours (`team_business_hours`) and ordered rules
//! (`automation_rules`), read together in one statement for the per-node cache; the recent
//! inbound messages a dry run reads; and the two claims that make automation happen once:
//! `automation_rule_firings` (rule, message) inserted with ON CONFLICT DO NOTHING, and the
//! once-per-period automatic reply (`auto_replies`, shared with the missed-call reply).

use super::members::audit;
use super::{PgStore, StoreError, Tx, not_found, op};
use actors::DomainResult;
use actors::audit::Actor;
use actors::domain::ChannelKind;
use actors::ids::*;
use actors::ports::{AutomationStore, InboundSample, ReplyClaim, StoredAutomation};
use actors::rules::automation::{Actions, Assign, Conditions, Rule, RuleDraft};
use actors::rules::hours::HoursSettings;
use async_trait::async_trait;
use serde_json::json;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

const RULE_COLUMNS: &str = "id, team_id, position, name, enabled, conditions, actions, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    team_id: Uuid,
    position: i32,
    name: String,
    enabled: bool,
    conditions: Json<Conditions>,
    actions: Json<Actions>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<RuleRow> for Rule {
    fn from(r: RuleRow) -> Rule {
        Rule {
            id: RuleId(r.id),
            team_id: TeamId(r.team_id),
            position: r.position,
            name: r.name,
            enabled: r.enabled,
            conditions: r.conditions.0,
            actions: r.actions.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Claims an automatic reply of `claim.kind` inside a transaction: free when never sent, or last
/// sent before the period began; the row lock of the upsert orders concurrent claims on every
/// node. True when claimed.
pub(crate) async fn claim_auto_reply<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Postgres>,
    claim: ReplyClaim,
) -> Result<bool, StoreError> {
    let claimed: Option<OffsetDateTime> = sqlx::query_scalar(
        "INSERT INTO auto_replies AS a (channel_id, contact_id, kind, last_sent_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (channel_id, contact_id, kind) DO UPDATE SET last_sent_at = now()
         WHERE a.last_sent_at <= now() - make_interval(secs => $4)
         RETURNING last_sent_at",
    )
    .bind(claim.channel.0)
    .bind(claim.contact.0)
    .bind(claim.kind.as_str())
    .bind(claim.period.as_seconds_f64())
    .fetch_optional(db)
    .await?;
    Ok(claimed.is_some())
}

/// A rule's labels and assignee must be the team's.
async fn check_rule(tx: &mut Tx<'_>, team: TeamId, d: &RuleDraft) -> Result<(), StoreError> {
    if !d.actions.add_labels.is_empty() {
        let ids: Vec<Uuid> = d.actions.add_labels.iter().map(|l| l.0).collect();
        let found: i64 = sqlx::query_scalar("SELECT count(*) FROM labels WHERE team_id = $1 AND id = ANY($2)")
            .bind(team.0)
            .bind(&ids)
            .fetch_one(tx.conn())
            .await?;
        if found != ids.len() as i64 {
            return Err(StoreError::invalid("actions.add_labels", "must be labels of the team"));
        }
    }
    if let Some(Assign::User { user_id }) = d.actions.assign {
        let member: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE team_id = $1 AND id = $2 AND removed_at IS NULL")
            .bind(team.0)
            .bind(user_id.0)
            .fetch_optional(tx.conn())
            .await?;
        if member.is_none() {
            return Err(StoreError::invalid("actions.assign", "must be a member of the team"));
        }
    }
    Ok(())
}

#[async_trait]
impl AutomationStore for PgStore {
    async fn automation(&self, team: TeamId) -> DomainResult<StoredAutomation> {
        op(async move {
            let sql = format!(
                "SELECT (SELECT to_jsonb(h) - 'team_id' - 'updated_at' FROM team_business_hours h WHERE h.team_id = $1),
                        (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.position, r.id), '[]')
                         FROM (SELECT {RULE_COLUMNS} FROM automation_rules WHERE team_id = $1) r)"
            );
            let (hours, rules): (Option<Json<HoursSettings>>, Json<Vec<serde_json::Value>>) =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).fetch_one(self.db()).await?;
            let rules = rules.0.into_iter().map(rule_from_json).collect::<Result<Vec<_>, _>>()?;
            Ok(StoredAutomation { hours: hours.map(|h| h.0), rules })
        })
        .await
    }

    async fn set_business_hours(&self, team: TeamId, h: &HoursSettings) -> DomainResult<()> {
        op(async move {
            sqlx::query(
                "INSERT INTO team_business_hours AS b (team_id, enabled, time_zone, weekly, holidays, out_of_hours_reply,
                        out_of_hours_reply_hours, first_message_reply, first_message_reply_hours)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (team_id) DO UPDATE SET enabled = $2, time_zone = $3, weekly = $4, holidays = $5,
                        out_of_hours_reply = $6, out_of_hours_reply_hours = $7, first_message_reply = $8,
                        first_message_reply_hours = $9, updated_at = now()",
            )
            .bind(team.0)
            .bind(h.enabled)
            .bind(&h.time_zone)
            .bind(Json(&h.weekly))
            .bind(Json(&h.holidays))
            .bind(&h.out_of_hours_reply)
            .bind(h.out_of_hours_reply_hours)
            .bind(&h.first_message_reply)
            .bind(h.first_message_reply_hours)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }

    async fn create_rule(&self, team: TeamId, d: &RuleDraft, max: usize) -> DomainResult<Rule> {
        op(async move {
            let mut tx = self.begin().await?;
            // The team's row orders concurrent creations: the count and the position hold.
            sqlx::query("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE").bind(team.0).execute(tx.conn()).await?;
            check_rule(&mut tx, team, d).await?;
            let (count, next): (i64, i32) =
                sqlx::query_as("SELECT count(*), coalesce(max(position) + 1, 0) FROM automation_rules WHERE team_id = $1")
                    .bind(team.0)
                    .fetch_one(tx.conn())
                    .await?;
            if count >= max as i64 {
                return Err(StoreError::invalid("rules", format!("a team has at most {max} rules")));
            }
            let sql = format!(
                "INSERT INTO automation_rules (id, team_id, position, name, enabled, conditions, actions)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RULE_COLUMNS}"
            );
            let row: RuleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(RuleId::new().0)
                .bind(team.0)
                .bind(next)
                .bind(&d.name)
                .bind(d.enabled)
                .bind(Json(&d.conditions))
                .bind(Json(&d.actions))
                .fetch_one(tx.conn())
                .await?;
            tx.commit().await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_rule(&self, team: TeamId, id: RuleId, d: &RuleDraft) -> DomainResult<Rule> {
        op(async move {
            let mut tx = self.begin().await?;
            check_rule(&mut tx, team, d).await?;
            let sql = format!(
                "UPDATE automation_rules SET name = $3, enabled = $4, conditions = $5, actions = $6, updated_at = now()
                 WHERE team_id = $1 AND id = $2 RETURNING {RULE_COLUMNS}"
            );
            let row: RuleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(id.0)
                .bind(&d.name)
                .bind(d.enabled)
                .bind(Json(&d.conditions))
                .bind(Json(&d.actions))
                .fetch_one(tx.conn())
                .await
                .map_err(not_found("rule"))?;
            tx.commit().await?;
            Ok(row.into())
        })
        .await
    }

    async fn delete_rule(&self, by: &Actor, id: RuleId) -> DomainResult<Rule> {
        op(async move {
            let team = by.team();
            let mut tx = self.begin().await?;
            let sql = format!("DELETE FROM automation_rules WHERE team_id = $1 AND id = $2 RETURNING {RULE_COLUMNS}");
            let row: RuleRow =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(id.0).fetch_one(tx.conn()).await.map_err(not_found("rule"))?;
            let rule = Rule::from(row);
            let details = json!({ "name": rule.name, "conditions": rule.conditions, "actions": rule.actions });
            audit(&mut tx, team, by, "rule.deleted", "rule", id.to_string(), details).await?;
            tx.commit().await?;
            Ok(rule)
        })
        .await
    }

    async fn reorder_rules(&self, team: TeamId, ids: &[RuleId]) -> DomainResult<()> {
        let ids: Vec<Uuid> = ids.iter().map(|r| r.0).collect();
        op(async move {
            sqlx::query(
                "UPDATE automation_rules r SET position = o.n - 1
                 FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, n)
                 WHERE r.team_id = $1 AND r.id = o.id",
            )
            .bind(team.0)
            .bind(&ids)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }

    async fn recent_inbound(&self, team: TeamId, limit: i64) -> DomainResult<Vec<InboundSample>> {
        op(async move {
            let rows: Vec<(Uuid, Uuid, Uuid, String, String, Vec<String>, String, OffsetDateTime)> = sqlx::query_as(
                "SELECT m.id, m.thread_id, t.channel_id, m.channel_kind, c.name, c.tags, m.body, m.created_at
                 FROM (SELECT id, thread_id, channel_kind, body, created_at FROM messages
                       WHERE team_id = $1 AND direction = 'inbound' ORDER BY created_at DESC, id DESC LIMIT $2) m
                 JOIN threads t ON t.id = m.thread_id
                 JOIN contacts c ON c.id = t.contact_id
                 ORDER BY m.created_at DESC, m.id DESC",
            )
            .bind(team.0)
            .bind(limit)
            .fetch_all(self.db())
            .await?;
            rows.into_iter()
                .map(|(id, thread, channel, kind, name, tags, body, created_at)| {
                    let channel_kind: ChannelKind = kind.parse().map_err(|e| StoreError::Internal(format!("{e}")))?;
                    Ok(InboundSample {
                        message_id: MessageId(id),
                        thread_id: ThreadId(thread),
                        channel_id: ChannelId(channel),
                        channel_kind,
                        contact_name: name,
                        contact_tags: tags,
                        body,
                        created_at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn claim_firings(&self, team: TeamId, thread: ThreadId, message: MessageId, rules: &[RuleId]) -> DomainResult<Vec<RuleId>> {
        let rules: Vec<Uuid> = rules.iter().map(|r| r.0).collect();
        op(async move {
            let claimed: Vec<Uuid> = sqlx::query_scalar(
                "INSERT INTO automation_rule_firings (rule_id, message_id, team_id, thread_id)
                 SELECT r.id, $3, $1, $2 FROM automation_rules r WHERE r.team_id = $1 AND r.id = ANY($4)
                 ON CONFLICT (rule_id, message_id) DO NOTHING
                 RETURNING rule_id",
            )
            .bind(team.0)
            .bind(thread.0)
            .bind(message.0)
            .bind(&rules)
            .fetch_all(self.db())
            .await?;
            Ok(rules.into_iter().filter(|r| claimed.contains(r)).map(RuleId).collect())
        })
        .await
    }

    async fn claim_auto_reply(&self, claim: ReplyClaim) -> DomainResult<bool> {
        op(claim_auto_reply(self.db(), claim)).await
    }
}

/// A rule as `to_jsonb` of its row spells it.
fn rule_from_json(v: serde_json::Value) -> Result<Rule, StoreError> {
    serde_json::from_value(v).map_err(|e| StoreError::Internal(format!("a stored rule does not read back: {e}")))
}
