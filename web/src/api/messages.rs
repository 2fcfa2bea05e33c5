//! Sending now or later, and editing or canceling scheduled messages. A send with `render` (or a
//! `reply_id`) is a template: the replies service fills it in for the conversation first and
//! refuses it (422 `missing_variables`, nothing stored) while any variable has no value; so is
//! a scheduled message's new body edited with `render`. A send with `template_id` is an approved
//! template: rendered by the templates service (the thread shows the text), sent with its
//! Content sid and variables, and allowed outside WhatsApp's 24-hour window.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use actors::domain::{ChannelKind, Message};
use actors::ids::*;
use actors::replies::Recipient;
use actors::rules::Draft;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub struct NewMessage {
    thread_id: Option<ThreadId>,
    contact_id: Option<ContactId>,
    channel: Option<ChannelKind>,
    /// With `contact_id`: which of the team's numbers of that kind sends (default: the first).
    channel_id: Option<ChannelId>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    media_urls: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    send_at: Option<OffsetDateTime>,
    #[serde(default)]
    cancel_on_reply: bool,
    /// Send this canned reply (rendered for the conversation) instead of `body`.
    reply_id: Option<ReplyId>,
    /// `body` is a template: fill in its variables, refuse it while any has no value.
    #[serde(default)]
    render: bool,
    /// Send this approved template (WhatsApp: `ContentSid` + `ContentVariables`) with
    /// `variables` instead of `body` (to a thread, or to a contact: a new conversation).
    template_id: Option<TemplateId>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewMessage>) -> ApiResult<(StatusCode, Json<Message>)> {
    let no_target = || ApiError::invalid("thread_id", "send thread_id, or contact_id and channel");
    let to = match (req.thread_id, req.contact_id, req.channel) {
        (Some(thread), _, _) => Recipient::Thread(thread),
        (None, Some(contact), Some(_)) => Recipient::Contact(contact),
        _ => return Err(no_target()),
    };
    let replies = &state.core.replies;
    let mut content = None;
    let body = match (req.reply_id, req.template_id) {
        (Some(_), _) | (_, Some(_)) if !req.body.is_empty() => {
            return Err(ApiError::invalid("body", "send body, reply_id or template_id, one of them"));
        }
        (Some(_), Some(_)) => return Err(ApiError::invalid("template_id", "send reply_id or template_id, not both")),
        (Some(reply), None) => replies.render_reply_for_send(&p.user, &p.team, to, reply).await?,
        (None, Some(template)) => {
            let to = super::templates::target(req.thread_id, req.contact_id, req.channel)?;
            let send = state.core.templates.for_send(&p.user, &p.team, to, template, req.variables).await?;
            content = send.content;
            send.text
        }
        (None, None) if req.render => replies.render_for_send(&p.user, &p.team, to, &req.body).await?,
        (None, None) => req.body,
    };
    let draft = Draft { body, media_urls: req.media_urls, send_at: req.send_at, cancel_on_reply: req.cancel_on_reply, content };
    let threads = &state.core.threads;
    let msg = match (req.thread_id, req.contact_id, req.channel) {
        (Some(thread), _, _) => threads.send(p.team.id, thread, p.user, draft).await?,
        (None, Some(contact), Some(kind)) => threads.send_to_contact(p.team.id, contact, kind, req.channel_id, p.user, draft).await?,
        _ => return Err(no_target()),
    };
    Ok((StatusCode::CREATED, Json(msg)))
}

#[derive(Deserialize)]
pub struct MessageEdit {
    body: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    send_at: Option<OffsetDateTime>,
    /// The new `body` is a template, as on a send.
    #[serde(default)]
    render: bool,
}

pub async fn edit(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<MessageEdit>,
) -> ApiResult<Json<Message>> {
    let id: MessageId = path_id(&id, "message")?;
    let body = match req.body {
        Some(body) if req.render => {
            let thread = state.reads.message_thread(p.team.id, id).await?;
            Some(state.core.replies.render_for_send(&p.user, &p.team, Recipient::Thread(thread), &body).await?)
        }
        body => body,
    };
    Ok(Json(state.core.threads.edit_scheduled(p.team.id, id, p.user, body, req.send_at).await?))
}

pub async fn cancel(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Message>> {
    let id: MessageId = path_id(&id, "message")?;
    Ok(Json(state.core.threads.cancel_scheduled(p.team.id, id, p.user).await?))
}

/// `POST /api/messages/{id}/retry`: a failed send again, as a new message (201); the failed one
/// is kept.
pub async fn retry(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Message>)> {
    let id: MessageId = path_id(&id, "message")?;
    Ok((StatusCode::CREATED, Json(state.core.threads.retry(p.team.id, id, p.user).await?)))
}
