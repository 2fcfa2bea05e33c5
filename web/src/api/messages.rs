//! Sending now or later, and editing or canceling scheduled messages.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use actors::domain::{ChannelKind, Message};
use actors::ids::*;
use actors::rules::Draft;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub struct NewMessage {
    thread_id: Option<ThreadId>,
    contact_id: Option<ContactId>,
    channel: Option<ChannelKind>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    media_urls: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    send_at: Option<OffsetDateTime>,
    #[serde(default)]
    cancel_on_reply: bool,
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewMessage>) -> ApiResult<(StatusCode, Json<Message>)> {
    let draft = Draft { body: req.body, media_urls: req.media_urls, send_at: req.send_at, cancel_on_reply: req.cancel_on_reply };
    let threads = &state.core.threads;
    let msg = match (req.thread_id, req.contact_id, req.channel) {
        (Some(thread), _, _) => threads.send(p.team.id, thread, p.user, draft).await?,
        (None, Some(contact), Some(kind)) => threads.send_to_contact(p.team.id, contact, kind, p.user, draft).await?,
        _ => return Err(ApiError::invalid("thread_id", "send thread_id, or contact_id and channel")),
    };
    Ok((StatusCode::CREATED, Json(msg)))
}

#[derive(Deserialize)]
pub struct MessageEdit {
    body: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    send_at: Option<OffsetDateTime>,
}

pub async fn edit(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<MessageEdit>,
) -> ApiResult<Json<Message>> {
    let id: MessageId = path_id(&id, "message")?;
    Ok(Json(state.core.threads.edit_scheduled(p.team.id, id, p.user, req.body, req.send_at).await?))
}

pub async fn cancel(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Message>> {
    let id: MessageId = path_id(&id, "message")?;
    Ok(Json(state.core.threads.cancel_scheduled(p.team.id, id, p.user).await?))
}
