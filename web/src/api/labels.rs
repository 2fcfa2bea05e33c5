//! The team's labels for conversations (`/api/labels`): everyone reads them, admins manage them.
//! The rules live in `actors::labels` and `actors::rules::labels`; this maps HTTP.

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json};
use actors::domain::Label;
use actors::ids::LabelId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/labels` → `{items, next_cursor: null}`: every label of the team, by name (a team
/// has at most 200, so one page).
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let items = state.core.labels.list(&p.user).await?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

#[derive(Deserialize)]
pub struct NewLabel {
    name: String,
    color: String,
}

/// `POST /api/labels {name, color}` (admins).
pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewLabel>) -> ApiResult<(StatusCode, Json<Label>)> {
    Ok((StatusCode::CREATED, Json(state.core.labels.create(&p.user, &req.name, &req.color).await?)))
}

#[derive(Deserialize)]
pub struct LabelUpdate {
    name: Option<String>,
    color: Option<String>,
}

/// `PATCH /api/labels/{id} {name?, color?}` (admins).
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<LabelUpdate>,
) -> ApiResult<Json<Label>> {
    let id: LabelId = path_id(&id, "label")?;
    Ok(Json(state.core.labels.update(&p.user, id, req.name.as_deref(), req.color.as_deref()).await?))
}

/// `DELETE /api/labels/{id}` (admins; audit-logged; the label leaves every conversation).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: LabelId = path_id(&id, "label")?;
    state.core.labels.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
