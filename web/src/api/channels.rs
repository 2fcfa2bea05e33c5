//! A team's Twilio numbers (admin only; the auth token is write-only), and the numbers alone
//! for every member (`/api/numbers`: whom a new conversation is sent from).

use super::contacts::double_option;
use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Admin, AdminActing, Auth, Json};
use actors::channels::ChannelInput;
use actors::domain::{Channel, ChannelKind};
use actors::ids::ChannelId;
use actors::rules::calls::SettingsChange;
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

/// `GET /api/channels/{id}`: the channel and its voice settings (admin).
pub async fn get(State(state): State<AppState>, Admin(p): Admin, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: ChannelId = path_id(&id, "channel")?;
    let channel = state
        .reads
        .channels(p.team.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| crate::error::ApiError::not_found("channel"))?;
    let settings = state.reads.channel_settings(p.team.id, id).await?;
    Ok(Json(json!({ "channel": channel, "settings": settings })))
}

/// The voice settings a `PATCH /api/channels/{id}` may change; absent leaves a value, `null`
/// clears it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsReq {
    #[serde(default, with = "double_option")]
    forward_to: Option<Option<String>>,
    ring_seconds: Option<i32>,
    #[serde(default, with = "double_option")]
    greeting: Option<Option<String>>,
    voicemail: Option<bool>,
    #[serde(default, with = "double_option")]
    missed_call_reply: Option<Option<String>>,
    missed_call_reply_hours: Option<i32>,
}

/// `PATCH /api/channels/{id}`: changes the channel's voice settings (admin; audit-logged).
pub async fn update(
    State(state): State<AppState>,
    AdminActing(p, by): AdminActing,
    Path(id): Path<String>,
    Json(req): Json<SettingsReq>,
) -> ApiResult<Json<Value>> {
    let id: ChannelId = path_id(&id, "channel")?;
    let change = SettingsChange {
        forward_to: req.forward_to,
        ring_seconds: req.ring_seconds,
        greeting: req.greeting,
        voicemail: req.voicemail,
        missed_call_reply: req.missed_call_reply,
        missed_call_reply_hours: req.missed_call_reply_hours,
    };
    let settings = state.core.channels.update_settings(&by, id, change).await?;
    let channel = state.reads.channels(p.team.id).await?.into_iter().find(|c| c.id == id);
    Ok(Json(json!({ "channel": channel, "settings": settings })))
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
            "voice": format!("{}/webhooks/twilio/voice", state.config.public_base_url.trim_end_matches('/')),
            "voice_status": format!("{}/webhooks/twilio/voice/status", state.config.public_base_url.trim_end_matches('/')),
        },
    })))
}
