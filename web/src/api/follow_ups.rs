//! Follow-ups: tasks on a thread (call back, check an automatic SMS, anything by hand) with a due
//! time, an assignee and a status. Listed for "My follow-ups"; created and completed through the
//! thread's actor, so each change is in the thread's log and live on the team channel.

use super::contacts::double_option;
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use actors::domain::{FollowUp, FollowUpKind, FollowUpStatus};
use actors::ids::{FollowUpId, ThreadId, UserId};
use actors::ports::{FollowUpChange, FollowUpFilter, Page};
use actors::thread::FollowUpInput;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub struct ListQuery {
    /// `me`, `none`, `me_or_none`, or a user id.
    assignee: Option<String>,
    status: Option<FollowUpStatus>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    due_before: Option<OffsetDateTime>,
    thread_id: Option<ThreadId>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/follow-ups` → `{items, next_cursor}`, soonest due first.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<FollowUp>>> {
    let mut filter = FollowUpFilter {
        status: q.status,
        due_before: q.due_before,
        thread: q.thread_id,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        ..FollowUpFilter::default()
    };
    match q.assignee.as_deref() {
        None | Some("") => {}
        Some("me") => filter.assignee = Some(p.user.id),
        Some("none") => filter.unassigned = true,
        Some("me_or_none") => {
            filter.assignee = Some(p.user.id);
            filter.unassigned = true;
        }
        Some(id) => {
            filter.assignee = Some(id.parse().map_err(|_| ApiError::invalid("assignee", "must be me, none, me_or_none or a user id"))?)
        }
    }
    Ok(Json(state.reads.follow_ups(p.team.id, &filter).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReq {
    thread_id: ThreadId,
    #[serde(rename = "type")]
    kind: FollowUpKind,
    #[serde(with = "time::serde::rfc3339")]
    due_at: OffsetDateTime,
    #[serde(default)]
    assignee_id: Option<UserId>,
    #[serde(default)]
    note: String,
}

/// `POST /api/follow-ups` → 201 FollowUp.
pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewReq>) -> ApiResult<(StatusCode, Json<FollowUp>)> {
    let input = FollowUpInput { kind: req.kind, due_at: req.due_at, assignee: req.assignee_id, note: req.note };
    let f = state.core.threads.add_follow_up(p.team.id, req.thread_id, p.user.clone(), input).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeReq {
    status: Option<FollowUpStatus>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    due_at: Option<OffsetDateTime>,
    #[serde(default, with = "double_option")]
    assignee_id: Option<Option<UserId>>,
}

/// `PATCH /api/follow-ups/{id}` → FollowUp.
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<ChangeReq>,
) -> ApiResult<Json<FollowUp>> {
    let id: FollowUpId = path_id(&id, "follow-up")?;
    let change = FollowUpChange { status: req.status, due_at: req.due_at, assignee: req.assignee_id };
    Ok(Json(state.core.threads.update_follow_up(p.team.id, id, p.user.clone(), change).await?))
}
