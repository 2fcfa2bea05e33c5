//! Contact lists and segments (`/api/lists`), their members, the lists a contact is in, and
//! bulk changes to contacts picked by id. Scoped by team: another team's list is a 404.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, Auth, Json, Query};
use actors::domain::{ContactList, ListKind, SegmentFilter};
use actors::ids::{ContactId, ListId};
use actors::ports::{BulkChange, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/lists` → `{items, next_cursor}` by name, with member counts.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<ContactList>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    Ok(Json(state.reads.lists(p.team.id, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    name: String,
    kind: ListKind,
    filter: Option<SegmentFilter>,
}

/// `POST /api/lists {name, kind: static|segment, filter?}` → 201 with the list.
pub async fn create(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Json(req): Json<NewList>,
) -> ApiResult<(StatusCode, Json<ContactList>)> {
    let list = state.core.lists.create(&by, &req.name, req.kind, req.filter).await?;
    Ok((StatusCode::CREATED, Json(list)))
}

/// `GET /api/lists/{id}`.
pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<ContactList>> {
    let id: ListId = path_id(&id, "list")?;
    Ok(Json(state.reads.list(p.team.id, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListChange {
    name: Option<String>,
    filter: Option<SegmentFilter>,
}

/// `PATCH /api/lists/{id} {name?, filter?}` (a filter only for a segment).
pub async fn update(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Json(req): Json<ListChange>,
) -> ApiResult<Json<ContactList>> {
    let id: ListId = path_id(&id, "list")?;
    Ok(Json(state.core.lists.update(&by, id, req.name.as_deref(), req.filter).await?))
}

/// `DELETE /api/lists/{id}`: the list goes, its contacts stay (audited).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ListId = path_id(&id, "list")?;
    state.core.lists.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct MembersFilter {
    search: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    contact_ids: Option<Vec<ContactId>>,
    filter: Option<MembersFilter>,
}

fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /api/lists/{id}/members {contact_ids}` or `{filter: {search?, tag?}}` → `{added}`.
pub async fn add_members(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Json(req): Json<Members>,
) -> ApiResult<Json<Value>> {
    let id: ListId = path_id(&id, "list")?;
    let added = match (req.contact_ids, req.filter) {
        (Some(ids), None) => state.core.lists.add_members(&by, id, ids).await?,
        (None, Some(f)) => state.core.lists.add_matching(&by, id, present(f.search), present(f.tag)).await?,
        _ => return Err(ApiError::invalid("contact_ids", "send contact_ids or filter (one of them)")),
    };
    Ok(Json(json!({ "added": added })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveMembers {
    contact_ids: Vec<ContactId>,
}

/// `DELETE /api/lists/{id}/members {contact_ids}` → `{removed}`.
pub async fn remove_members(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Json(req): Json<RemoveMembers>,
) -> ApiResult<Json<Value>> {
    let id: ListId = path_id(&id, "list")?;
    let removed = state.core.lists.remove_members(&by, id, req.contact_ids).await?;
    Ok(Json(json!({ "removed": removed })))
}

/// `GET /api/contacts/{id}/lists` → `{items}`: the lists the contact is in now.
pub async fn contact_lists(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: ContactId = path_id(&id, "contact")?;
    state.reads.contact(p.team.id, id).await?;
    Ok(Json(json!({ "items": state.reads.contact_lists(p.team.id, id).await? })))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    AddTag,
    RemoveTag,
    AddToList,
    Delete,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    ids: Vec<ContactId>,
    action: BulkAction,
    tag: Option<String>,
    list_id: Option<ListId>,
}

/// `POST /api/contacts/bulk {ids (≤ 1,000), action, tag?, list_id?}` → `{affected}`.
pub async fn bulk(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<Bulk>) -> ApiResult<Json<Value>> {
    let tag = || req.tag.clone().ok_or_else(|| ApiError::invalid("tag", "is required for this action"));
    let change = match req.action {
        BulkAction::AddTag => BulkChange::AddTag(tag()?),
        BulkAction::RemoveTag => BulkChange::RemoveTag(tag()?),
        BulkAction::AddToList => {
            BulkChange::AddToList(req.list_id.ok_or_else(|| ApiError::invalid("list_id", "is required for this action"))?)
        }
        BulkAction::Delete => BulkChange::Delete,
    };
    let affected = state.core.lists.bulk(&by, req.ids, change).await?;
    Ok(Json(json!({ "affected": affected })))
}
