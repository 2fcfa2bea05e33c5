//! Contact lists: static lists (members in `contact_list_members`) and segments (a saved filter
//! in `contact_lists.filter`, evaluated in SQL whenever it is read), and bulk changes to
//! contacts picked by id. Each public method is one statement.

use super::contacts::{CONTACT_COLUMNS, ContactRow};
use super::{PgStore, StoreError, cursor, like_pattern, not_found, op};
use actors::DomainResult;
use actors::domain::{Contact, ContactList, ListKind, SegmentFilter};
use actors::ids::*;
use actors::ports::{BulkChange, ContactFilter, ListReads, ListWrites, Page};
use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether contact `c` is in list `l` now: a member of a static list, or matched by a segment's
/// filter (the SQL twin of `SegmentFilter::matches`; only the keys a filter has are present).
pub(crate) const LIST_MATCH: &str = r"(CASE WHEN l.kind = 'static'
    THEN EXISTS (SELECT 1 FROM contact_list_members m WHERE m.list_id = l.id AND m.contact_id = c.id)
    ELSE (NOT (l.filter ? 'tags_any') OR c.tags && ARRAY(SELECT jsonb_array_elements_text(l.filter->'tags_any')))
     AND (NOT (l.filter ? 'tags_all') OR c.tags @> ARRAY(SELECT jsonb_array_elements_text(l.filter->'tags_all')))
     AND (NOT (l.filter ? 'fields') OR c.custom_fields @> (l.filter->'fields'))
     AND (NOT (l.filter ? 'opted_out') OR (c.opted_out_at IS NOT NULL) = (l.filter->>'opted_out')::boolean)
     AND (NOT (l.filter ? 'search') OR (
          c.name ILIKE '%' || replace(replace(replace(l.filter->>'search', '\', '\\'), '%', '\%'), '_', '\_') || '%'
       OR c.phone LIKE '%' || replace(replace(replace(l.filter->>'search', '\', '\\'), '%', '\%'), '_', '\_') || '%'
       OR c.email ILIKE '%' || replace(replace(replace(l.filter->>'search', '\', '\\'), '%', '\%'), '_', '\_') || '%'
       OR c.company ILIKE '%' || replace(replace(replace(l.filter->>'search', '\', '\\'), '%', '\%'), '_', '\_') || '%'))
    END)";

/// The columns of a list, with its live member count.
fn list_columns() -> String {
    format!(
        "l.id, l.team_id, l.name, l.kind, l.filter, l.created_by, l.created_at, l.updated_at,
         CASE WHEN l.kind = 'static'
              THEN (SELECT count(*) FROM contact_list_members m JOIN contacts c ON c.id = m.contact_id
                    WHERE m.list_id = l.id AND c.deleted_at IS NULL)
              ELSE (SELECT count(*) FROM contacts c WHERE c.team_id = l.team_id AND c.deleted_at IS NULL AND {LIST_MATCH})
         END AS member_count"
    )
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    team_id: Uuid,
    name: String,
    kind: String,
    filter: Option<Json<SegmentFilter>>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    member_count: i64,
}

impl TryFrom<ListRow> for ContactList {
    type Error = StoreError;
    fn try_from(r: ListRow) -> Result<ContactList, StoreError> {
        Ok(ContactList {
            id: ListId(r.id),
            team_id: TeamId(r.team_id),
            name: r.name,
            kind: r.kind.parse().map_err(|_| StoreError::internal(format!("unknown list kind {:?}", r.kind)))?,
            filter: r.filter.map(|f| f.0),
            member_count: r.member_count,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn lists(rows: Vec<ListRow>) -> Result<Vec<ContactList>, StoreError> {
    rows.into_iter().map(ContactList::try_from).collect()
}

/// The condition of a contact filter's search (`$2`), tag (`$3`) and list (`$4`) on `c`, for a
/// team `$1`.
pub(crate) const FILTER_MATCH: &str = "($2::text IS NULL OR c.name ILIKE $2 OR c.phone LIKE $2 OR c.email ILIKE $2 OR c.company ILIKE $2)
     AND ($3::text IS NULL OR $3 = ANY (c.tags))
     AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM contact_lists l WHERE l.id = $4 AND l.team_id = $1 AND ";

fn filter_match() -> String {
    format!("{FILTER_MATCH}{LIST_MATCH}))")
}

#[async_trait]
impl ListReads for PgStore {
    async fn lists(&self, team: TeamId, after: Option<&str>, limit: i64) -> DomainResult<Page<ContactList>> {
        op(async move {
            let (key, id) = match after {
                Some(c) => {
                    let (k, id) = cursor::decode_text(c)?;
                    (Some(k), Some(id))
                }
                None => (None, None),
            };
            let sql = format!(
                "SELECT {} FROM contact_lists l
                 WHERE l.team_id = $1 AND ($2::text IS NULL OR (lower(l.name), l.id) > ($2, $3))
                 ORDER BY lower(l.name), l.id LIMIT $4",
                list_columns()
            );
            let rows: Vec<ListRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(key).bind(id).bind(limit + 1).fetch_all(self.db()).await?;
            let mut items = lists(rows)?;
            let more = items.len() as i64 > limit;
            items.truncate(limit.max(0) as usize);
            let next_cursor = if more { items.last().map(|l| cursor::encode_text(&l.name.to_lowercase(), l.id.0)) } else { None };
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn list(&self, team: TeamId, id: ListId) -> DomainResult<ContactList> {
        op(async move {
            let sql = format!("SELECT {} FROM contact_lists l WHERE l.team_id = $1 AND l.id = $2", list_columns());
            let row: ListRow =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(id.0).fetch_one(self.db()).await.map_err(not_found("list"))?;
            row.try_into()
        })
        .await
    }

    async fn contact_lists(&self, team: TeamId, contact: ContactId) -> DomainResult<Vec<ContactList>> {
        op(async move {
            let sql = format!(
                "SELECT {} FROM contact_lists l JOIN contacts c ON c.team_id = l.team_id
                 WHERE l.team_id = $1 AND c.id = $2 AND {LIST_MATCH}
                 ORDER BY lower(l.name), l.id",
                list_columns()
            );
            let rows: Vec<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(contact.0).fetch_all(self.db()).await?;
            lists(rows)
        })
        .await
    }

    async fn contacts_after(&self, team: TeamId, filter: &ContactFilter, after: Option<&str>, limit: i64) -> DomainResult<Vec<Contact>> {
        op(async move {
            let sql = format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c
                 WHERE c.team_id = $1 AND c.deleted_at IS NULL AND {}
                   AND ($5::text IS NULL OR c.phone > $5)
                 ORDER BY c.phone LIMIT $6",
                filter_match()
            );
            let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(filter.search.as_deref().map(like_pattern))
                .bind(filter.tag.as_deref())
                .bind(filter.list_id.map(|l| l.0))
                .bind(after)
                .bind(limit)
                .fetch_all(self.db())
                .await?;
            Ok(rows.into_iter().map(Contact::from).collect())
        })
        .await
    }
}

#[async_trait]
impl ListWrites for PgStore {
    async fn create_list(
        &self,
        team: TeamId,
        by: Option<UserId>,
        name: &str,
        kind: ListKind,
        filter: Option<&SegmentFilter>,
    ) -> DomainResult<ContactList> {
        op(async move {
            // A new segment already has members: they are counted like any list's.
            let sql = format!(
                "INSERT INTO contact_lists AS l (id, team_id, name, kind, filter, created_by) VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING {}",
                list_columns()
            );
            let row: ListRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ListId::new().0)
                .bind(team.0)
                .bind(name)
                .bind(kind.as_str())
                .bind(filter.map(Json))
                .bind(by.map(|u| u.0))
                .fetch_one(self.db())
                .await?;
            row.try_into()
        })
        .await
    }

    async fn update_list(&self, team: TeamId, id: ListId, name: Option<&str>, filter: Option<&SegmentFilter>) -> DomainResult<ContactList> {
        op(async move {
            let sql = format!(
                "UPDATE contact_lists l SET name = COALESCE($3, l.name), filter = COALESCE($4, l.filter), updated_at = now()
                 WHERE l.team_id = $1 AND l.id = $2 RETURNING {}",
                list_columns()
            );
            let row: ListRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(id.0)
                .bind(name)
                .bind(filter.map(Json))
                .fetch_one(self.db())
                .await
                .map_err(not_found("list"))?;
            row.try_into()
        })
        .await
    }

    async fn delete_list(&self, team: TeamId, id: ListId) -> DomainResult<()> {
        op(async move {
            let done =
                sqlx::query("DELETE FROM contact_lists WHERE team_id = $1 AND id = $2").bind(team.0).bind(id.0).execute(self.db()).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("list"));
            }
            Ok(())
        })
        .await
    }

    async fn add_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64> {
        op(async move {
            let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
            let done = sqlx::query(
                "INSERT INTO contact_list_members (list_id, contact_id)
                 SELECT l.id, c.id FROM contact_lists l JOIN contacts c ON c.team_id = l.team_id
                 WHERE l.team_id = $1 AND l.id = $2 AND l.kind = 'static' AND c.id = ANY ($3) AND c.deleted_at IS NULL
                 ON CONFLICT DO NOTHING",
            )
            .bind(team.0)
            .bind(list.0)
            .bind(&ids)
            .execute(self.db())
            .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn add_list_members_matching(&self, team: TeamId, list: ListId, filter: &ContactFilter) -> DomainResult<u64> {
        op(async move {
            // `$4` (a list the contacts must already be in) and `$5` (this list) differ.
            let sql = format!(
                "INSERT INTO contact_list_members (list_id, contact_id)
                 SELECT t.id, c.id FROM contact_lists t JOIN contacts c ON c.team_id = t.team_id
                 WHERE t.team_id = $1 AND t.id = $5 AND t.kind = 'static' AND c.deleted_at IS NULL AND {}
                 ON CONFLICT DO NOTHING",
                filter_match()
            );
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(filter.search.as_deref().map(like_pattern))
                .bind(filter.tag.as_deref())
                .bind(filter.list_id.map(|l| l.0))
                .bind(list.0)
                .execute(self.db())
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn remove_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64> {
        op(async move {
            let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
            let done = sqlx::query(
                "DELETE FROM contact_list_members m USING contact_lists l
                 WHERE m.list_id = l.id AND l.team_id = $1 AND l.id = $2 AND m.contact_id = ANY ($3)",
            )
            .bind(team.0)
            .bind(list.0)
            .bind(&ids)
            .execute(self.db())
            .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn bulk_change(&self, team: TeamId, ids: &[ContactId], change: &BulkChange) -> DomainResult<Vec<Contact>> {
        op(async move {
            let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
            let (set, only, tag) = match change {
                BulkChange::AddTag(t) => ("tags = array_append(tags, $3)", "NOT ($3 = ANY (tags))", Some(t.as_str())),
                BulkChange::RemoveTag(t) => ("tags = array_remove(tags, $3)", "$3 = ANY (tags)", Some(t.as_str())),
                BulkChange::Delete => ("deleted_at = now()", "$3::text IS NULL", None),
                BulkChange::AddToList(_) => return Err(StoreError::internal("adding to a list is add_list_members")),
            };
            let sql = format!(
                "UPDATE contacts c SET {set}, updated_at = now()
                 WHERE c.team_id = $1 AND c.id = ANY ($2) AND c.deleted_at IS NULL AND {only}
                 RETURNING {CONTACT_COLUMNS}"
            );
            let rows: Vec<ContactRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).bind(&ids).bind(tag).fetch_all(self.db()).await?;
            Ok(rows.into_iter().map(Contact::from).collect())
        })
        .await
    }
}
