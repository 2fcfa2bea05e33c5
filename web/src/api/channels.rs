//! A team's Twilio numbers (admin only; the auth token is write-only), and the numbers alone
//! for every member (`/api/numbers`: whom a new conversation is sent from).

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Admin, AdminActing, Auth, Json};
use actors::channels::ChannelInput;
use actors::domain::{Channel, ChannelKind};
use actors::ids::ChannelId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

pub async fn list(State(state): State<AppState>, Admin(p): Admin) -> ApiResult<Json<Value>> {
    let channels: Vec<Channel> = state.reads.channels(p.team.id).await?;
    Ok(Json(json!({ "channels": channels })))
}

/// `GET /api/numbers`: the team's sending numbers for any member: `{id, kind, number,
/// simulated}` each, without the Twilio account (that is the admin's business).
pub async fn numbers(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let channels: Vec<Channel> = state.reads.channels(p.team.id).await?;
    let numbers: Vec<Value> =
        channels.iter().map(|c| json!({ "id": c.id, "kind": c.kind, "number": c.number, "simulated": c.simulated })).collect();
    Ok(Json(json!({ "numbers": numbers })))
}

#[derive(Deserialize)]
pub struct NewChannelReq {
    kind: ChannelKind,
    number: String,
    account_sid: String,
    auth_token: String,
    #[serde(default)]
    messaging_service_sid: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Json(req): Json<NewChannelReq>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let input = ChannelInput {
        kind: req.kind,
        number: req.number,
        account_sid: req.account_sid,
        auth_token: req.auth_token,
        messaging_service_sid: req.messaging_service_sid,
    };
    Ok((StatusCode::CREATED, Json(state.core.channels.create(&by, input).await?)))
}

pub async fn delete(State(state): State<AppState>, AdminActing(_, by): AdminActing, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ChannelId = path_id(&id, "channel")?;
    state.core.channels.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn settings(State(state): State<AppState>, Admin(p): Admin) -> ApiResult<Json<Value>> {
    let team = state.reads.team(p.team.id).await?;
    Ok(Json(json!({
        "verified_numbers": state.config.verified_numbers,
        "simulator_mode": team.simulator_mode,
        "public_base_url": state.config.public_base_url,
        "webhooks": {
            "messages": format!("{}/webhooks/twilio/messages", state.config.public_base_url.trim_end_matches('/')),
            "status": format!("{}/webhooks/twilio/status", state.config.public_base_url.trim_end_matches('/')),
        },
    })))
}
