//! Automation (`/api/automation/...`): the team's business hours with its automatic replies,
//! and its ordered rules with their dry run. Everyone reads them; admins change them. The rules
//! live in `actors::automation` and `actors::rules::{hours, automation}`; this maps HTTP.

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json};
use actors::automation::{DryRun, HoursView};
use actors::ids::RuleId;
use actors::rules::automation::{Rule, RuleDraft};
use actors::rules::hours::HoursSettings;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/automation/hours` → the hours, `open` now and `next_change_at`.
pub async fn hours(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<HoursView>> {
    Ok(Json(state.core.automation.hours(p.team.id).await?))
}

/// `PUT /api/automation/hours {enabled, time_zone, weekly, holidays, out_of_hours_reply, …}`
/// (admins).
pub async fn set_hours(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<HoursSettings>) -> ApiResult<Json<HoursView>> {
    Ok(Json(state.core.automation.set_hours(&by, req).await?))
}

/// `GET /api/automation/rules` → `{items, next_cursor: null}`, in order (at most 100: one page).
pub async fn rules(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let items = state.core.automation.rules(&p.user).await?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

/// `POST /api/automation/rules {name, enabled, conditions, actions}` (admins) → 201, last in order.
pub async fn create(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Json(req): Json<RuleDraft>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    Ok((StatusCode::CREATED, Json(state.core.automation.create_rule(&by, req).await?)))
}

/// `PUT /api/automation/rules/{id} {name, enabled, conditions, actions}` (admins).
pub async fn update(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Json(req): Json<RuleDraft>,
) -> ApiResult<Json<Rule>> {
    let id: RuleId = path_id(&id, "rule")?;
    Ok(Json(state.core.automation.update_rule(&by, id, req).await?))
}

/// `DELETE /api/automation/rules/{id}` (admins; audit-logged).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: RuleId = path_id(&id, "rule")?;
    state.core.automation.delete_rule(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    ids: Vec<RuleId>,
}

/// `PUT /api/automation/rules/order {ids}` (admins: every rule once) → `{items, next_cursor}`.
pub async fn reorder(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<Order>) -> ApiResult<Json<Value>> {
    let items = state.core.automation.reorder(&by, &req.ids).await?;
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

/// `POST /api/automation/rules/dry-run {name, conditions, actions}` → which of the team's last
/// 100 inbound messages the rule would fire on (`{items, next_cursor, scanned, actions}`).
pub async fn dry_run(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<RuleDraft>) -> ApiResult<Json<DryRun>> {
    Ok(Json(state.core.automation.dry_run(&p.user, req).await?))
}
