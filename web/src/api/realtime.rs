//! `POST /pusher/auth`: signs a channel subscription, only for channels of the caller's team.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Form};
use actors::protocol::{self, ChannelName};
use axum::extract::State;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct AuthRequest {
    socket_id: String,
    channel_name: String,
}

pub async fn auth(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: axum::http::HeaderMap,
    Form(req): Form<AuthRequest>,
) -> ApiResult<axum::Json<Value>> {
    if !protocol::is_valid_socket_id(&req.socket_id) {
        return Err(ApiError::invalid("socket_id", "is not a socket id"));
    }
    let channel = ChannelName::parse(&req.channel_name).ok_or_else(|| ApiError::forbidden("unknown channel"))?;
    let allowed = match channel {
        ChannelName::Team(team) => team == p.team.id,
        ChannelName::User(user) => user == p.user.id,
        // Another team's thread and a missing one look the same: forbidden.
        ChannelName::Thread(thread) => state.reads.thread(p.team.id, thread).await.is_ok(),
    };
    if !allowed {
        return Err(ApiError::forbidden("you may not join this channel"));
    }
    let channel_data = channel
        .is_presence()
        .then(|| json!({ "user_id": p.user.id.to_string(), "user_info": { "name": p.user.name, "role": p.user.role } }).to_string());
    let auth = protocol::channel_auth(
        &state.config.app_key,
        state.config.app_secret.expose_secret(),
        &req.socket_id,
        &req.channel_name,
        channel_data.as_deref(),
    );
    // The socket now holds channels on this credential's authority: signing out closes it.
    if let Some(credential) = crate::extract::credential(&headers) {
        state.core.cluster.bind_credential(&req.socket_id, &credential, p.user.id);
    }
    let mut body = json!({ "auth": auth });
    if let Some(data) = channel_data {
        body["channel_data"] = Value::String(data);
    }
    Ok(axum::Json(body))
}
