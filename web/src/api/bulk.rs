//! `POST /api/threads/bulk`: one change to many conversations from the inbox list (assign,
//! resolve, add a label, set a priority). Each goes through its thread's actor like a single
//! `PATCH /api/threads/{id}` (the core's `Threads::bulk_update`), so every thread's log, every
//! tab and every node sees each change; the answer has each thread's own result.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use actors::domain::ThreadStatus;
use actors::ids::{LabelId, ThreadId, UserId};
use actors::ports::ThreadChange;
use actors::rules;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct Bulk {
    thread_ids: Vec<ThreadId>,
    status: Option<ThreadStatus>,
    /// A member's id, `"me"`, or `null` to unassign.
    #[serde(default, with = "super::contacts::double_option")]
    assignee_id: Option<Option<String>>,
    /// Labels added to each thread (its others kept).
    #[serde(default)]
    add_labels: Vec<LabelId>,
    priority: Option<String>,
}

/// `{thread_ids, status?, assignee_id?, add_labels?, priority?}` → `{results: [{thread_id, ok,
/// thread | error}], succeeded, failed}` (200 even when some threads failed; 422 when the change
/// itself is invalid).
pub async fn bulk(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<Bulk>) -> ApiResult<Json<Value>> {
    let assignee = match req.assignee_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(who)) if who == "me" => Some(Some(p.user.id)),
        Some(Some(who)) => {
            Some(Some(who.parse::<UserId>().map_err(|_| ApiError::invalid("assignee_id", "must be me, null or a member's id"))?))
        }
    };
    let change = ThreadChange {
        status: req.status,
        assignee,
        add_labels: req.add_labels,
        priority: req.priority.as_deref().map(rules::labels::priority).transpose()?,
        ..ThreadChange::default()
    };
    let results = state.core.threads.bulk_update(p.team.id, req.thread_ids, p.user, change).await?;
    let (mut succeeded, mut failed) = (0, 0);
    let results: Vec<Value> = results
        .into_iter()
        .map(|(thread, result)| match result {
            Ok(summary) => {
                succeeded += 1;
                json!({ "thread_id": thread, "ok": true, "thread": summary })
            }
            Err(e) => {
                failed += 1;
                json!({ "thread_id": thread, "ok": false, "error": error_json(ApiError::from(e)) })
            }
        })
        .collect();
    Ok(Json(json!({ "results": results, "succeeded": succeeded, "failed": failed })))
}

/// The `{code, message, field?}` a single request would have answered.
fn error_json(e: ApiError) -> Value {
    let mut body = json!({ "code": e.code, "message": e.message, "status": e.status.as_u16() });
    if let Some(field) = e.field {
        body["field"] = field.into();
    }
    body
}
