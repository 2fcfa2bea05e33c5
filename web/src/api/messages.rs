//! Sending now or later, and editing or canceling scheduled messages.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use actors::domain::{ChannelKind, Message};
use actors::ids::*;
use actors::thread::ThreadMsg;
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

fn check_body(body: &str) -> ApiResult<()> {
    if body.chars().count() > 1600 {
        return Err(ApiError::invalid("body", "must be at most 1600 characters (Twilio's limit)"));
    }
    Ok(())
}

fn check_media(urls: &[String]) -> ApiResult<()> {
    if urls.len() > 10 {
        return Err(ApiError::invalid("media_urls", "at most 10 media URLs"));
    }
    for u in urls {
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2048 {
            return Err(ApiError::invalid("media_urls", format!("{u:?} is not an http(s) URL")));
        }
    }
    Ok(())
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewMessage>) -> ApiResult<(StatusCode, Json<Message>)> {
    check_body(&req.body)?;
    check_media(&req.media_urls)?;
    let thread = match (req.thread_id, req.contact_id, req.channel) {
        (Some(t), _, _) => state.store.thread(p.team.id, t).await?.id,
        (None, Some(c), Some(kind)) => state.store.thread_for_contact(p.team.id, c, kind).await?.0,
        _ => {
            return Err(ApiError::invalid("thread_id", "send thread_id, or contact_id and channel"));
        }
    };
    let author = p.user;
    let msg = state
        .core
        .ask_thread(thread, |reply| ThreadMsg::Send {
            author,
            body: req.body,
            media_urls: req.media_urls,
            send_at: req.send_at,
            cancel_on_reply: req.cancel_on_reply,
            reply,
        })
        .await?;
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
    if let Some(b) = &req.body {
        check_body(b)?;
        if b.trim().is_empty() {
            return Err(ApiError::invalid("body", "must not be empty"));
        }
    }
    if let Some(at) = req.send_at {
        let now = OffsetDateTime::now_utc();
        if at <= now {
            return Err(ApiError::invalid("send_at", "must be in the future"));
        }
        if at - now > state.core.config.schedule_horizon {
            return Err(ApiError::invalid("send_at", "is too far in the future"));
        }
    }
    let thread = state.store.message_thread(p.team.id, id).await?;
    let actor = p.user;
    let msg = state
        .core
        .ask_thread(thread, |reply| ThreadMsg::EditScheduled { actor, message: id, body: req.body, send_at: req.send_at, reply })
        .await?;
    Ok(Json(msg))
}

pub async fn cancel(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Message>> {
    let id: MessageId = path_id(&id, "message")?;
    let thread = state.store.message_thread(p.team.id, id).await?;
    let actor = p.user;
    Ok(Json(state.core.ask_thread(thread, |reply| ThreadMsg::CancelScheduled { actor, message: id, reply }).await?))
}
