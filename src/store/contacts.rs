//! Contacts: the people a team talks to, one per E.164 phone per team (deleted ones included:
//! deleting is soft, purging is for good), the team's custom fields and default country.

use super::lists::LIST_MATCH;
use super::{PgStore, StoreError, cursor, like_pattern, not_found, op};
use actors::DomainResult;
use actors::domain::{Contact, ContactField};
use actors::ids::*;
use actors::ports::{ContactFilter, ContactPatch, ContactReads, ContactSort, ContactWrites, NewContact, Page};
use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Every column a `Contact` is read from.
pub(crate) const CONTACT_COLUMNS: &str = "c.id, c.team_id, c.name, c.first_name, c.last_name, c.phone, c.email, c.tags, c.company, \
     c.notes, c.source, c.custom_fields, c.opted_out_at, c.opt_out_reason, c.deleted_at, c.last_activity_at, c.created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: String,
    email: Option<String>,
    tags: Vec<String>,
    company: Option<String>,
    notes: Option<String>,
    source: Option<String>,
    custom_fields: Json<serde_json::Map<String, serde_json::Value>>,
    opted_out_at: Option<OffsetDateTime>,
    opt_out_reason: Option<String>,
    deleted_at: Option<OffsetDateTime>,
    last_activity_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Contact {
        Contact {
            id: ContactId(r.id),
            team_id: TeamId(r.team_id),
            name: r.name,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            email: r.email,
            tags: r.tags,
            company: r.company,
            notes: r.notes,
            source: r.source,
            custom_fields: r.custom_fields.0,
            opted_out_at: r.opted_out_at,
            opt_out_reason: r.opt_out_reason,
            deleted_at: r.deleted_at,
            last_activity_at: r.last_activity_at,
            created_at: r.created_at,
        }
    }
}

/// The keyset condition and order of each sort: `$5`/`$6` the cursor's time or text key and
/// `$7` its id.
fn order(sort: ContactSort) -> (&'static str, &'static str) {
    match sort {
        ContactSort::Created => ("($5::timestamptz IS NULL OR (c.created_at, c.id) < ($5, $7))", "c.created_at DESC, c.id DESC"),
        ContactSort::Name => ("($6::text IS NULL OR (lower(c.name), c.id) > ($6, $7))", "lower(c.name), c.id"),
        ContactSort::Activity => (
            "($5::timestamptz IS NULL OR (COALESCE(c.last_activity_at, 'epoch'::timestamptz), c.id) < ($5, $7))",
            "COALESCE(c.last_activity_at, 'epoch'::timestamptz) DESC, c.id DESC",
        ),
    }
}

fn next_key(sort: ContactSort, c: &ContactRow) -> String {
    match sort {
        ContactSort::Created => cursor::encode(c.created_at, c.id),
        ContactSort::Name => cursor::encode_text(&c.name.to_lowercase(), c.id),
        ContactSort::Activity => cursor::encode(c.last_activity_at.unwrap_or(OffsetDateTime::UNIX_EPOCH), c.id),
    }
}

#[async_trait]
impl ContactReads for PgStore {
    async fn list_contacts(&self, team: TeamId, filter: &ContactFilter, after: Option<&str>, limit: i64) -> DomainResult<Page<Contact>> {
        op(async move {
            let (at, text, id) = match (after, filter.sort) {
                (None, _) => (None, None, None),
                (Some(c), ContactSort::Name) => {
                    let (key, id) = cursor::decode_text(c)?;
                    (None, Some(key), Some(id))
                }
                (Some(c), _) => {
                    let (at, id) = cursor::decode(c)?;
                    (Some(at), None, Some(id))
                }
            };
            let (after_sql, order_sql) = order(filter.sort);
            let sql = format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c
                 WHERE c.team_id = $1 AND (c.deleted_at IS NOT NULL) = $2
                   AND ($3::text IS NULL OR c.name ILIKE $3 OR c.phone LIKE $3 OR c.email ILIKE $3 OR c.company ILIKE $3)
                   AND ($4::text IS NULL OR $4 = ANY (c.tags))
                   AND ($9::uuid IS NULL OR EXISTS (SELECT 1 FROM contact_lists l WHERE l.id = $9 AND l.team_id = $1 AND {LIST_MATCH}))
                   AND {after_sql}
                 ORDER BY {order_sql} LIMIT $8"
            );
            let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(filter.deleted)
                .bind(filter.search.as_deref().map(like_pattern))
                .bind(filter.tag.as_deref())
                .bind(at)
                .bind(text)
                .bind(id)
                .bind(limit + 1)
                .bind(filter.list_id.map(|l| l.0))
                .fetch_all(self.db())
                .await?;
            let sort = filter.sort;
            Ok(page(rows, limit, |r| next_key(sort, r)))
        })
        .await
    }

    async fn contact(&self, team: TeamId, id: ContactId) -> DomainResult<Contact> {
        op(async move {
            let row: ContactRow =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.team_id = $1 AND c.id = $2")))
                    .bind(team.0)
                    .bind(id.0)
                    .fetch_one(self.db())
                    .await
                    .map_err(not_found("contact"))?;
            Ok(row.into())
        })
        .await
    }

    async fn contact_threads(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
        op(async move {
            let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM threads WHERE team_id = $1 AND contact_id = $2")
                .bind(team.0)
                .bind(id.0)
                .fetch_all(self.db())
                .await?;
            Ok(ids.into_iter().map(ThreadId).collect())
        })
        .await
    }

    async fn contact_fields(&self, team: TeamId) -> DomainResult<Vec<ContactField>> {
        op(async move {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT key, label FROM contact_fields WHERE team_id = $1 ORDER BY position, key")
                    .bind(team.0)
                    .fetch_all(self.db())
                    .await?;
            Ok(rows.into_iter().map(|(key, label)| ContactField { key, label }).collect())
        })
        .await
    }
}

#[async_trait]
impl ContactWrites for PgStore {
    async fn create_contact(&self, team: TeamId, c: &NewContact) -> DomainResult<Contact> {
        op(async move {
            let row: ContactRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO contacts AS c (id, team_id, name, first_name, last_name, phone, email, tags, company, notes, source,
                    custom_fields, opted_out_at, opt_out_reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $13 THEN now() END, CASE WHEN $13 THEN $14 END)
                 RETURNING {CONTACT_COLUMNS}"
            )))
            .bind(ContactId::new().0)
            .bind(team.0)
            .bind(&c.name)
            .bind(c.first_name.as_deref())
            .bind(c.last_name.as_deref())
            .bind(&c.phone)
            .bind(c.email.as_deref())
            .bind(&c.tags)
            .bind(c.company.as_deref())
            .bind(c.notes.as_deref())
            .bind(c.source.as_deref())
            .bind(Json(&c.custom_fields))
            .bind(c.opted_out)
            .bind(c.opt_out_reason.as_deref())
            .fetch_one(self.db())
            .await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_contact(&self, team: TeamId, id: ContactId, p: ContactPatch) -> DomainResult<Contact> {
        op(async move {
            // `$n::bool` says whether the optional field after it is set (to a value or NULL).
            let row: ContactRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE contacts c SET
                    name = COALESCE($3, name),
                    phone = COALESCE($4, phone),
                    email = CASE WHEN $5 THEN $6 ELSE email END,
                    tags = COALESCE($7, tags),
                    opted_out_at = CASE WHEN $8::bool IS NULL THEN opted_out_at
                                        WHEN $8 THEN COALESCE(opted_out_at, now()) ELSE NULL END,
                    opt_out_reason = CASE WHEN $8::bool IS NOT NULL AND NOT $8 THEN NULL
                                          WHEN $9 THEN $10 ELSE opt_out_reason END,
                    first_name = CASE WHEN $11 THEN $12 ELSE first_name END,
                    last_name = CASE WHEN $13 THEN $14 ELSE last_name END,
                    company = CASE WHEN $15 THEN $16 ELSE company END,
                    notes = CASE WHEN $17 THEN $18 ELSE notes END,
                    source = CASE WHEN $19 THEN $20 ELSE source END,
                    custom_fields = COALESCE($21, custom_fields),
                    deleted_at = CASE WHEN $22::bool IS NULL THEN deleted_at
                                      WHEN $22 THEN COALESCE(deleted_at, now()) ELSE NULL END,
                    updated_at = now()
                 WHERE team_id = $1 AND id = $2
                 RETURNING {CONTACT_COLUMNS}"
            )))
            .bind(team.0)
            .bind(id.0)
            .bind(p.name)
            .bind(p.phone)
            .bind(p.email.is_some())
            .bind(p.email.flatten())
            .bind(p.tags)
            .bind(p.opted_out)
            .bind(p.opt_out_reason.is_some())
            .bind(p.opt_out_reason.flatten())
            .bind(p.first_name.is_some())
            .bind(p.first_name.flatten())
            .bind(p.last_name.is_some())
            .bind(p.last_name.flatten())
            .bind(p.company.is_some())
            .bind(p.company.flatten())
            .bind(p.notes.is_some())
            .bind(p.notes.flatten())
            .bind(p.source.is_some())
            .bind(p.source.flatten())
            .bind(p.custom_fields.map(Json))
            .bind(p.deleted)
            .fetch_one(self.db())
            .await
            .map_err(not_found("contact"))?;
            Ok(row.into())
        })
        .await
    }

    async fn purge_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
        op(async move {
            // The threads go with the contact (ON DELETE CASCADE): name them for the live views.
            // The SELECT sees the rows as they were before the CTE's DELETE.
            let (deleted, threads): (bool, Vec<Uuid>) = sqlx::query_as(
                "WITH del AS (DELETE FROM contacts WHERE team_id = $1 AND id = $2 RETURNING id)
                 SELECT EXISTS (SELECT 1 FROM del), ARRAY(SELECT id FROM threads WHERE team_id = $1 AND contact_id = $2)",
            )
            .bind(team.0)
            .bind(id.0)
            .fetch_one(self.db())
            .await?;
            if !deleted {
                return Err(StoreError::NotFound("contact"));
            }
            Ok(threads.into_iter().map(ThreadId).collect())
        })
        .await
    }

    async fn set_contact_fields(&self, team: TeamId, fields: &[ContactField]) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            let labels: Vec<&str> = fields.iter().map(|f| f.label.as_str()).collect();
            let dropped: Vec<String> =
                sqlx::query_scalar("DELETE FROM contact_fields WHERE team_id = $1 AND NOT (key = ANY ($2)) RETURNING key")
                    .bind(team.0)
                    .bind(&keys)
                    .fetch_all(tx.conn())
                    .await?;
            sqlx::query(
                "INSERT INTO contact_fields (team_id, key, label, position)
                 SELECT $1, k, l, n FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS f(k, l, n)
                 ON CONFLICT (team_id, key) DO UPDATE SET label = EXCLUDED.label, position = EXCLUDED.position",
            )
            .bind(team.0)
            .bind(&keys)
            .bind(&labels)
            .execute(tx.conn())
            .await?;
            if !dropped.is_empty() {
                sqlx::query("UPDATE contacts SET custom_fields = custom_fields - $2::text[] WHERE team_id = $1 AND custom_fields ?| $2")
                    .bind(team.0)
                    .bind(&dropped)
                    .execute(tx.conn())
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_default_country(&self, team: TeamId, country: Option<&str>) -> DomainResult<()> {
        op(async move {
            sqlx::query("UPDATE teams SET default_country = $2 WHERE id = $1").bind(team.0).bind(country).execute(self.db()).await?;
            Ok(())
        })
        .await
    }
}

/// Cuts a `limit + 1` fetch into a page and its next cursor.
pub(crate) fn page<R, T: From<R>>(mut rows: Vec<R>, limit: i64, key: impl Fn(&R) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more { rows.last().map(key) } else { None };
    Page { items: rows.into_iter().map(T::from).collect(), next_cursor }
}
