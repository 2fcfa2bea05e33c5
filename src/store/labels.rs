//! A team's labels for conversations: by name (case-insensitive, unique per team through
//! `labels_team_name_key`), at most a given number a team (counted under a lock on the team's
//! row, so two admins adding the last label race safely), and a deletion that takes the label
//! off every thread (ON DELETE CASCADE) and is recorded in the audit log in one transaction.
//! Labels on one thread are a thread change: `threads/labels.rs`.

use super::members::audit;
use super::{PgStore, StoreError, not_found, op};
use actors::DomainResult;
use actors::audit::Actor;
use actors::domain::Label;
use actors::ids::*;
use actors::ports::{LabelReads, LabelWrites};
use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of a label, spelled once.
macro_rules! columns {
    () => {
        "id, team_id, name, color, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct LabelRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    color: String,
    created_at: OffsetDateTime,
}

impl From<LabelRow> for Label {
    fn from(r: LabelRow) -> Label {
        Label { id: LabelId(r.id), team_id: TeamId(r.team_id), name: r.name, color: r.color, created_at: r.created_at }
    }
}

#[async_trait]
impl LabelReads for PgStore {
    async fn labels(&self, team: TeamId) -> DomainResult<Vec<Label>> {
        op(async move {
            let rows: Vec<LabelRow> =
                sqlx::query_as(concat!("SELECT ", columns!(), " FROM labels WHERE team_id = $1 ORDER BY lower(name), id"))
                    .bind(team.0)
                    .fetch_all(self.db())
                    .await?;
            Ok(rows.into_iter().map(Label::from).collect())
        })
        .await
    }
}

#[async_trait]
impl LabelWrites for PgStore {
    async fn create_label(&self, team: TeamId, name: &str, color: &str, max: usize) -> DomainResult<Label> {
        op(async move {
            let mut tx = self.begin().await?;
            sqlx::query("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE").bind(team.0).execute(tx.conn()).await?;
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM labels WHERE team_id = $1").bind(team.0).fetch_one(tx.conn()).await?;
            if count >= max as i64 {
                return Err(StoreError::invalid("labels", format!("a team has at most {max} labels")));
            }
            let row: LabelRow =
                sqlx::query_as(concat!("INSERT INTO labels (id, team_id, name, color) VALUES ($1, $2, $3, $4) RETURNING ", columns!()))
                    .bind(LabelId::new().0)
                    .bind(team.0)
                    .bind(name)
                    .bind(color)
                    .fetch_one(tx.conn())
                    .await?;
            tx.commit().await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_label(&self, team: TeamId, id: LabelId, name: Option<&str>, color: Option<&str>) -> DomainResult<Label> {
        op(async move {
            let row: LabelRow = sqlx::query_as(concat!(
                "UPDATE labels SET name = COALESCE($3, name), color = COALESCE($4, color), updated_at = now()
                 WHERE team_id = $1 AND id = $2 RETURNING ",
                columns!()
            ))
            .bind(team.0)
            .bind(id.0)
            .bind(name)
            .bind(color)
            .fetch_one(self.db())
            .await
            .map_err(not_found("label"))?;
            Ok(row.into())
        })
        .await
    }

    async fn delete_label(&self, by: &Actor, id: LabelId) -> DomainResult<(Label, u64)> {
        op(async move {
            let team = by.team();
            let mut tx = self.begin().await?;
            let threads: i64 =
                sqlx::query_scalar("SELECT count(*) FROM thread_labels WHERE label_id = $1").bind(id.0).fetch_one(tx.conn()).await?;
            let row: LabelRow = sqlx::query_as(concat!("DELETE FROM labels WHERE team_id = $1 AND id = $2 RETURNING ", columns!()))
                .bind(team.0)
                .bind(id.0)
                .fetch_one(tx.conn())
                .await
                .map_err(not_found("label"))?;
            let label = Label::from(row);
            // No rule names a deleted label (its other actions stand).
            sqlx::query(
                "UPDATE automation_rules SET actions = jsonb_set(actions, '{add_labels}', (actions->'add_labels') - $2::text), updated_at = now()
                 WHERE team_id = $1 AND actions->'add_labels' ? $2::text",
            )
            .bind(team.0)
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
            let details = json!({ "name": label.name, "color": label.color, "threads": threads });
            audit(&mut tx, team, by, "label.deleted", "label", id.to_string(), details).await?;
            tx.commit().await?;
            Ok((label, threads as u64))
        })
        .await
    }
}
