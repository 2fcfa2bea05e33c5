//! Approved message templates (`/api/templates`): everyone lists and uses them, admins manage
//! and sync them from Twilio's Content API. The rules live in `actors::message_templates` and
//! `actors::rules::message_templates`; this maps HTTP.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, Auth, Json, Query};
use actors::domain::ChannelKind;
use actors::ids::{ContactId, TemplateId, ThreadId};
use actors::message_templates::{SyncReport, TemplateChange, TemplateInput, TemplateTarget};
use actors::ports::Page;
use actors::rules::message_templates::{MessageTemplate, TemplateVariable};
use actors::templates::Rendered;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct ListQuery {
    channel_kind: Option<ChannelKind>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/templates?channel_kind=&cursor=&limit=`: the team's templates, by name.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<MessageTemplate>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 200);
    Ok(Json(state.core.templates.list(&p.user, q.channel_kind, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
pub struct NewTemplate {
    name: String,
    channel_kind: ChannelKind,
    content_sid: Option<String>,
    body: String,
    #[serde(default)]
    variables: Vec<TemplateVariable>,
}

/// `POST /api/templates {name, channel_kind, content_sid?, body, variables?}` (admins).
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    Json(req): Json<NewTemplate>,
) -> ApiResult<(StatusCode, Json<MessageTemplate>)> {
    let input = TemplateInput {
        name: req.name,
        channel_kind: req.channel_kind,
        content_sid: req.content_sid,
        body: req.body,
        variables: req.variables,
    };
    Ok((StatusCode::CREATED, Json(state.core.templates.create(&p.user, input).await?)))
}

/// `GET /api/templates/{id}`.
pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<MessageTemplate>> {
    let id: TemplateId = path_id(&id, "template")?;
    Ok(Json(state.core.templates.get(&p.user, id).await?))
}

/// A field that may be absent (unchanged), null (cleared) or set.
fn some_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
pub struct TemplateUpdate {
    name: Option<String>,
    channel_kind: Option<ChannelKind>,
    #[serde(default, deserialize_with = "some_option")]
    content_sid: Option<Option<String>>,
    body: Option<String>,
    variables: Option<Vec<TemplateVariable>>,
}

/// `PATCH /api/templates/{id} {name?, channel_kind?, content_sid?, body?, variables?}` (admins).
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<TemplateUpdate>,
) -> ApiResult<Json<MessageTemplate>> {
    let id: TemplateId = path_id(&id, "template")?;
    let change = TemplateChange {
        name: req.name,
        channel_kind: req.channel_kind,
        content_sid: req.content_sid,
        body: req.body,
        variables: req.variables,
    };
    Ok(Json(state.core.templates.update(&p.user, id, change).await?))
}

/// `DELETE /api/templates/{id}` (admins; audit-logged).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: TemplateId = path_id(&id, "template")?;
    state.core.templates.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/templates/sync` (admins): reads the Content API of the team's Twilio accounts →
/// `{synced, skipped}`.
pub async fn sync(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<SyncReport>> {
    Ok(Json(state.core.templates.sync(&p.user).await?))
}

#[derive(Deserialize)]
pub struct PreviewRequest {
    thread_id: Option<ThreadId>,
    /// With `channel`, instead of `thread_id`: a new conversation with this contact.
    contact_id: Option<ContactId>,
    channel: Option<ChannelKind>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// `POST /api/templates/{id}/preview {thread_id | contact_id + channel, variables}` →
/// `{text, missing}`: the text as the thread will show it (defaults filled in for the contact).
pub async fn preview(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<PreviewRequest>,
) -> ApiResult<Json<Rendered>> {
    let id: TemplateId = path_id(&id, "template")?;
    let to = target(req.thread_id, req.contact_id, req.channel)?;
    Ok(Json(state.core.templates.preview(&p.user, &p.team, to, id, req.variables).await?))
}

/// Whom a template is for: `thread_id`, or `contact_id` with `channel` (a new conversation).
pub(super) fn target(thread: Option<ThreadId>, contact: Option<ContactId>, kind: Option<ChannelKind>) -> ApiResult<TemplateTarget> {
    match (thread, contact, kind) {
        (Some(thread), _, _) => Ok(TemplateTarget::Thread(thread)),
        (None, Some(contact), Some(kind)) => Ok(TemplateTarget::Contact(contact, kind)),
        _ => Err(ApiError::invalid("thread_id", "send thread_id, or contact_id and channel")),
    }
}
