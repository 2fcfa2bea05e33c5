//! Canned replies: the team's (admins manage them) and each agent's own, and the preview of a
//! body rendered for one conversation. The rules live in `actors::replies`; this maps HTTP.

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json, Query};
use actors::domain::{CannedReply, ReplyScope};
use actors::ids::{ReplyId, ThreadId};
use actors::ports::Page;
use actors::replies::{Recipient, ReplyChange, ReplyInput};
use actors::templates::Rendered;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/replies?search=&cursor=&limit=`: the team's replies and one's own, by shortcut.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<CannedReply>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 200);
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    Ok(Json(state.core.replies.list(&p.user, search, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
pub struct NewReply {
    #[serde(default = "personal")]
    scope: ReplyScope,
    shortcut: String,
    title: String,
    body: String,
}

fn personal() -> ReplyScope {
    ReplyScope::Personal
}

/// `POST /api/replies {scope?: team|personal (default personal), shortcut, title, body}`.
pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewReply>) -> ApiResult<(StatusCode, Json<CannedReply>)> {
    let input = ReplyInput { scope: req.scope, shortcut: req.shortcut, title: req.title, body: req.body };
    Ok((StatusCode::CREATED, Json(state.core.replies.create(&p.user, input).await?)))
}

/// `GET /api/replies/{id}`.
pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<CannedReply>> {
    let id: ReplyId = path_id(&id, "reply")?;
    Ok(Json(state.core.replies.get(&p.user, id).await?))
}

#[derive(Deserialize)]
pub struct ReplyUpdate {
    shortcut: Option<String>,
    title: Option<String>,
    body: Option<String>,
}

/// `PATCH /api/replies/{id} {shortcut?, title?, body?}`.
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<ReplyUpdate>,
) -> ApiResult<Json<CannedReply>> {
    let id: ReplyId = path_id(&id, "reply")?;
    let change = ReplyChange { shortcut: req.shortcut, title: req.title, body: req.body };
    Ok(Json(state.core.replies.update(&p.user, id, change).await?))
}

/// `DELETE /api/replies/{id}` (audit-logged).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ReplyId = path_id(&id, "reply")?;
    state.core.replies.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PreviewRequest {
    body: String,
    thread_id: ThreadId,
}

/// `POST /api/replies/preview {body, thread_id}` → `{text, missing}`.
pub async fn preview(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<PreviewRequest>) -> ApiResult<Json<Rendered>> {
    Ok(Json(state.core.replies.preview(&p.user, &p.team, Recipient::Thread(req.thread_id), &req.body).await?))
}
