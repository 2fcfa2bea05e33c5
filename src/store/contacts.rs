//! Contacts: the people a team talks to, one per E.164 phone per team.

use super::{PgStore, StoreError, cursor, like_pattern, not_found, op};
use actors::DomainResult;
use actors::domain::Contact;
use actors::ids::*;
use actors::ports::{ContactPatch, ContactReads, ContactWrites, Page};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    phone: String,
    email: Option<String>,
    tags: Vec<String>,
    opted_out_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Contact {
        Contact {
            id: ContactId(r.id),
            team_id: TeamId(r.team_id),
            name: r.name,
            phone: r.phone,
            email: r.email,
            tags: r.tags,
            opted_out_at: r.opted_out_at,
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl ContactReads for PgStore {
    async fn list_contacts(&self, team: TeamId, search: Option<&str>, after: Option<&str>, limit: i64) -> DomainResult<Page<Contact>> {
        op(async move {
            let after = after.map(cursor::decode).transpose()?;
            let pattern = search.map(like_pattern);
            // Newest first; keyset pagination on (created_at, id).
            let rows: Vec<ContactRow> = sqlx::query_as(
                "SELECT id, team_id, name, phone, email, tags, opted_out_at, created_at FROM contacts
                 WHERE team_id = $1
                   AND ($2::text IS NULL OR name ILIKE $2 OR phone LIKE $2 OR email ILIKE $2)
                   AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
                 ORDER BY created_at DESC, id DESC LIMIT $5",
            )
            .bind(team.0)
            .bind(pattern)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .bind(limit + 1)
            .fetch_all(self.db())
            .await?;
            Ok(page(rows, limit, |r| cursor::encode(r.created_at, r.id)))
        })
        .await
    }

    async fn contact(&self, team: TeamId, id: ContactId) -> DomainResult<Contact> {
        op(async move {
            let row: ContactRow = sqlx::query_as(
                "SELECT id, team_id, name, phone, email, tags, opted_out_at, created_at FROM contacts WHERE team_id = $1 AND id = $2",
            )
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
}

#[async_trait]
impl ContactWrites for PgStore {
    async fn create_contact(&self, team: TeamId, name: &str, phone: &str, email: Option<&str>, tags: &[String]) -> DomainResult<Contact> {
        op(async move {
            let row: ContactRow = sqlx::query_as(
                "INSERT INTO contacts (id, team_id, name, phone, email, tags) VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id, team_id, name, phone, email, tags, opted_out_at, created_at",
            )
            .bind(ContactId::new().0)
            .bind(team.0)
            .bind(name)
            .bind(phone)
            .bind(email)
            .bind(tags)
            .fetch_one(self.db())
            .await?;
            Ok(row.into())
        })
        .await
    }

    async fn update_contact(&self, team: TeamId, id: ContactId, p: ContactPatch) -> DomainResult<Contact> {
        op(async move {
            let row: ContactRow = sqlx::query_as(
                "UPDATE contacts SET
                    name = COALESCE($3, name),
                    phone = COALESCE($4, phone),
                    email = CASE WHEN $5 THEN $6 ELSE email END,
                    tags = COALESCE($7, tags),
                    opted_out_at = CASE WHEN $8::bool IS NULL THEN opted_out_at
                                        WHEN $8 THEN COALESCE(opted_out_at, now()) ELSE NULL END,
                    updated_at = now()
                 WHERE team_id = $1 AND id = $2
                 RETURNING id, team_id, name, phone, email, tags, opted_out_at, created_at",
            )
            .bind(team.0)
            .bind(id.0)
            .bind(p.name)
            .bind(p.phone)
            .bind(p.email.is_some())
            .bind(p.email.flatten())
            .bind(p.tags)
            .bind(p.opted_out)
            .fetch_one(self.db())
            .await
            .map_err(not_found("contact"))?;
            Ok(row.into())
        })
        .await
    }

    async fn delete_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
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
}

/// Cuts a `limit + 1` fetch into a page and its next cursor.
pub(crate) fn page<R, T: From<R>>(mut rows: Vec<R>, limit: i64, key: impl Fn(&R) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more { rows.last().map(key) } else { None };
    Page { items: rows.into_iter().map(T::from).collect(), next_cursor }
}
