//! A team's Twilio numbers (admin only). The auth token is write-only.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Json};
use actors::domain::{Channel, ChannelKind};
use actors::ids::ChannelId;
use actors::phone;
use actors::ports::NewChannel;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

pub async fn list(State(state): State<AppState>, Admin(p): Admin) -> ApiResult<Json<Value>> {
    let channels: Vec<Channel> = state.store.channels(p.team.id).await?;
    Ok(Json(json!({ "channels": channels })))
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

fn sid(value: &str, prefix: &str, field: &'static str) -> ApiResult<String> {
    let v = value.trim();
    let ok = v.len() == 34 && v.starts_with(prefix) && v[2..].chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(ApiError::invalid(field, format!("must be {prefix} followed by 32 letters or digits")));
    }
    Ok(v.to_owned())
}

pub async fn create(
    State(state): State<AppState>,
    Admin(p): Admin,
    Json(req): Json<NewChannelReq>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let number = phone::normalize(&req.number, None).map_err(|_| ApiError::invalid("number", "is not a phone number"))?;
    let token = req.auth_token.trim();
    if token.len() < 16 || token.len() > 128 {
        return Err(ApiError::invalid("auth_token", "is not a Twilio auth token"));
    }
    let channel = NewChannel {
        kind: req.kind,
        number,
        account_sid: sid(&req.account_sid, "AC", "account_sid")?,
        auth_token: token.to_owned(),
        messaging_service_sid: req
            .messaging_service_sid
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| sid(s, "MG", "messaging_service_sid"))
            .transpose()?,
        simulated: false,
    };
    Ok((StatusCode::CREATED, Json(state.store.create_channel(p.team.id, channel).await?)))
}

pub async fn delete(State(state): State<AppState>, Admin(p): Admin, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ChannelId = path_id(&id, "channel")?;
    state.store.delete_channel(p.team.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn settings(State(state): State<AppState>, Admin(p): Admin) -> ApiResult<Json<Value>> {
    let team = state.store.team(p.team.id).await?;
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
