//! Contact imports: the batch upsert by (team, phone) and the `contact_imports` rows that any
//! node reads an import's progress from.

use super::{PgStore, StoreError, not_found, op};
use actors::DomainResult;
use actors::domain::{ImportJob, ImportRowError, ImportState, OnConflict};
use actors::ids::*;
use actors::ports::{ImportReads, ImportStore, NewContact, Upserted};
use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// A stored field after an import row met it (`$3` is the conflict rule): `overwrite` takes a
/// non-empty cell, `fill` only fills an empty field, `skip` keeps it.
fn merged(col: &str) -> String {
    format!(
        "CASE $3 WHEN 'overwrite' THEN COALESCE(EXCLUDED.{col}, c.{col}) WHEN 'fill' THEN COALESCE(c.{col}, EXCLUDED.{col}) ELSE c.{col} END"
    )
}

/// The upsert of one batch: `$1` the team, `$2` the rows as a JSON array, `$3` the rule. An
/// existing opt-out is never cleared, a new one is taken in every mode; a deleted contact is
/// restored. Rows that change nothing are not written (and so not returned: skipped).
fn upsert_sql() -> String {
    let cols = [
        ("name", "CASE WHEN EXCLUDED.name = '' THEN c.name WHEN $3 = 'overwrite' OR ($3 = 'fill' AND c.name = '') THEN EXCLUDED.name ELSE c.name END".to_owned()),
        ("first_name", merged("first_name")),
        ("last_name", merged("last_name")),
        ("email", merged("email")),
        (
            "tags",
            "CASE WHEN cardinality(EXCLUDED.tags) = 0 THEN c.tags WHEN $3 = 'overwrite' OR ($3 = 'fill' AND cardinality(c.tags) = 0) THEN EXCLUDED.tags ELSE c.tags END"
                .to_owned(),
        ),
        ("company", merged("company")),
        ("notes", merged("notes")),
        ("source", merged("source")),
        (
            "custom_fields",
            "CASE $3 WHEN 'overwrite' THEN c.custom_fields || EXCLUDED.custom_fields WHEN 'fill' THEN EXCLUDED.custom_fields || c.custom_fields ELSE c.custom_fields END"
                .to_owned(),
        ),
        ("opted_out_at", "COALESCE(c.opted_out_at, EXCLUDED.opted_out_at)".to_owned()),
        ("opt_out_reason", "CASE WHEN c.opted_out_at IS NULL AND EXCLUDED.opted_out_at IS NOT NULL THEN EXCLUDED.opt_out_reason ELSE c.opt_out_reason END".to_owned()),
        ("deleted_at", "NULL::timestamptz".to_owned()),
    ];
    let set: Vec<String> = cols.iter().map(|(c, e)| format!("{c} = {e}")).collect();
    let names: Vec<String> = cols.iter().map(|(c, _)| format!("c.{c}")).collect();
    let values: Vec<&str> = cols.iter().map(|(_, e)| e.as_str()).collect();
    format!(
        "INSERT INTO contacts AS c (id, team_id, name, first_name, last_name, phone, email, tags, company, notes, source,
            custom_fields, opted_out_at, opt_out_reason)
         SELECT r.id, $1, r.name, r.first_name, r.last_name, r.phone, r.email, COALESCE(r.tags, '{{}}'), r.company, r.notes, r.source,
                COALESCE(r.custom_fields, '{{}}'), CASE WHEN r.opted_out THEN now() END, CASE WHEN r.opted_out THEN r.opt_out_reason END
         FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, name text, first_name text, last_name text, phone text, email text,
              tags text[], company text, notes text, source text, custom_fields jsonb, opted_out boolean, opt_out_reason text)
         ON CONFLICT (team_id, phone) DO UPDATE SET {}, updated_at = now()
         WHERE ({}) IS DISTINCT FROM ({})
         RETURNING (c.xmax = 0) AS inserted",
        set.join(",\n"),
        names.join(", "),
        values.join(", ")
    )
}

const JOB_COLUMNS: &str =
    "id, team_id, user_id, state, on_conflict, headers, total, processed, created, updated, skipped, errors_count, created_at, finished_at";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    team_id: Uuid,
    user_id: Option<Uuid>,
    state: String,
    on_conflict: String,
    headers: Vec<String>,
    total: Option<i64>,
    processed: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    errors_count: i64,
    created_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
}

impl TryFrom<JobRow> for ImportJob {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<ImportJob, StoreError> {
        let bad = |what: &str, v: &str| StoreError::internal(format!("unknown import {what} {v:?}"));
        Ok(ImportJob {
            job_id: ImportId(r.id),
            team_id: TeamId(r.team_id),
            user_id: r.user_id.map(UserId),
            state: r.state.parse().map_err(|_| bad("state", &r.state))?,
            on_conflict: r.on_conflict.parse().map_err(|_| bad("rule", &r.on_conflict))?,
            total: r.total,
            processed: r.processed,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            errors_count: r.errors_count,
            headers: r.headers,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

#[async_trait]
impl ImportStore for PgStore {
    async fn upsert_contacts(&self, team: TeamId, rows: &[NewContact], on_conflict: OnConflict) -> DomainResult<Upserted> {
        op(async move {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": ContactId::new(), "name": c.name, "first_name": c.first_name, "last_name": c.last_name,
                        "phone": c.phone, "email": c.email, "tags": c.tags, "company": c.company, "notes": c.notes,
                        "source": c.source, "custom_fields": c.custom_fields, "opted_out": c.opted_out,
                        "opt_out_reason": c.opt_out_reason,
                    })
                })
                .collect();
            let inserted: Vec<bool> = sqlx::query_scalar(sqlx::AssertSqlSafe(upsert_sql()))
                .bind(team.0)
                .bind(Json(rows))
                .bind(on_conflict.as_str())
                .fetch_all(self.db())
                .await?;
            let created = inserted.iter().filter(|i| **i).count() as u64;
            Ok(Upserted { created, updated: inserted.len() as u64 - created })
        })
        .await
    }

    async fn create_import(
        &self,
        team: TeamId,
        user: UserId,
        headers: &[String],
        total: i64,
        on_conflict: OnConflict,
    ) -> DomainResult<ImportJob> {
        op(async move {
            let row: JobRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO contact_imports (id, team_id, user_id, state, on_conflict, headers, total)
                 VALUES ($1, $2, $3, 'running', $4, $5, $6) RETURNING {JOB_COLUMNS}"
            )))
            .bind(ImportId::new().0)
            .bind(team.0)
            .bind(user.0)
            .bind(on_conflict.as_str())
            .bind(headers)
            .bind(total)
            .fetch_one(self.db())
            .await?;
            row.try_into()
        })
        .await
    }

    async fn save_import(&self, job: &ImportJob, errors: &[ImportRowError], finish: Option<ImportState>) -> DomainResult<ImportJob> {
        op(async move {
            let errors: Vec<serde_json::Value> = errors
                .iter()
                .map(|e| serde_json::json!({ "row_number": e.row, "field": e.field, "message": e.message, "cells": e.cells }))
                .collect();
            // Postgres refuses NUL in text: the error rows keep what it can store.
            let errors = serde_json::to_string(&errors).map_err(StoreError::from)?.replace("\\u0000", "");
            let row: JobRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "WITH e AS (
                    INSERT INTO contact_import_errors (import_id, row_number, field, message, cells)
                    SELECT $1, r.row_number, r.field, r.message, r.cells
                    FROM jsonb_to_recordset($9::jsonb) AS r(row_number bigint, field text, message text, cells text[])
                    ON CONFLICT DO NOTHING)
                 UPDATE contact_imports SET processed = $3, created = $4, updated = $5, skipped = $6, errors_count = $7,
                    state = CASE WHEN state = 'running' THEN COALESCE($8, 'running') ELSE state END,
                    finished_at = CASE WHEN finished_at IS NULL AND (state <> 'running' OR $8 IS NOT NULL) THEN now() ELSE finished_at END,
                    updated_at = now()
                 WHERE id = $1 AND team_id = $2 RETURNING {JOB_COLUMNS}"
            )))
            .bind(job.job_id.0)
            .bind(job.team_id.0)
            .bind(job.processed)
            .bind(job.created)
            .bind(job.updated)
            .bind(job.skipped)
            .bind(job.errors_count)
            .bind(finish.map(ImportState::as_str))
            .bind(errors)
            .fetch_one(self.db())
            .await
            .map_err(not_found("import"))?;
            row.try_into()
        })
        .await
    }

    async fn cancel_import(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob> {
        op(async move {
            let row: JobRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE contact_imports SET state = CASE WHEN state = 'running' THEN 'canceled' ELSE state END,
                    finished_at = COALESCE(finished_at, now()), updated_at = now()
                 WHERE team_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}"
            )))
            .bind(team.0)
            .bind(id.0)
            .fetch_one(self.db())
            .await
            .map_err(not_found("import"))?;
            row.try_into()
        })
        .await
    }

    async fn fail_stale_imports(&self, cutoff: OffsetDateTime) -> DomainResult<Vec<ImportJob>> {
        op(async move {
            let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE contact_imports SET state = 'failed', finished_at = now(), updated_at = now()
                 WHERE state = 'running' AND updated_at < $1 RETURNING {JOB_COLUMNS}"
            )))
            .bind(cutoff)
            .fetch_all(self.db())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        })
        .await
    }
}

#[async_trait]
impl ImportReads for PgStore {
    async fn import_job(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob> {
        op(async move {
            let row: JobRow =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM contact_imports WHERE team_id = $1 AND id = $2")))
                    .bind(team.0)
                    .bind(id.0)
                    .fetch_one(self.db())
                    .await
                    .map_err(not_found("import"))?;
            row.try_into()
        })
        .await
    }

    async fn import_errors(&self, team: TeamId, id: ImportId) -> DomainResult<Vec<ImportRowError>> {
        op(async move {
            let rows: Vec<(i64, String, String, Vec<String>)> = sqlx::query_as(
                "SELECT e.row_number, e.field, e.message, e.cells FROM contact_import_errors e
                 JOIN contact_imports i ON i.id = e.import_id
                 WHERE i.team_id = $1 AND i.id = $2 ORDER BY e.row_number",
            )
            .bind(team.0)
            .bind(id.0)
            .fetch_all(self.db())
            .await?;
            Ok(rows.into_iter().map(|(row, field, message, cells)| ImportRowError { row, field, message, cells }).collect())
        })
        .await
    }
}
