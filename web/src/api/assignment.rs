//! The team's automatic assignment setting: `GET|PUT /api/team/auto-assignment`.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json};
use actors::domain::AutoAssignment;
use axum::extract::State;

/// `GET /api/team/auto-assignment` → `{enabled, max_open_per_agent}` (any member).
pub async fn get(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<AutoAssignment>> {
    Ok(Json(state.core.assign.setting(p.team.id).await?))
}

/// `PUT /api/team/auto-assignment {enabled, max_open_per_agent: 1..1000 | null}` (admins).
pub async fn set(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<AutoAssignment>) -> ApiResult<Json<AutoAssignment>> {
    Ok(Json(state.core.assign.set(&by, req).await?))
}
