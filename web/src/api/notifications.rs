//! A person's notifications (the bell): the list with the unread count, marking read, and the
//! preferences. Notifications are created by the core (`actors::notifications`), never here.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json, Query};
use actors::ids::NotificationId;
use actors::ports::{NotificationPrefs, ReadWhich};
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/notifications?cursor=&limit=` → `{items, unread, next_cursor}`.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Value>> {
    let (page, unread) = state.core.notifications.list(p.user.id, q.cursor.as_deref(), q.limit.unwrap_or(30)).await?;
    Ok(Json(json!({ "items": page.items, "unread": unread, "next_cursor": page.next_cursor })))
}

#[derive(Deserialize)]
pub struct MarkRead {
    ids: Option<Vec<NotificationId>>,
    #[serde(default)]
    all: bool,
}

/// `POST /api/notifications/read {ids?: [..], all?: true}` → `{unread}`.
pub async fn read(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<MarkRead>) -> ApiResult<Json<Value>> {
    let which = match (req.all, req.ids) {
        (true, None) => ReadWhich::All,
        (false, Some(ids)) if ids.len() <= 500 => ReadWhich::Ids(ids),
        (false, Some(_)) => return Err(ApiError::invalid("ids", "at most 500 at once")),
        _ => return Err(ApiError::invalid("ids", "give either ids or all: true")),
    };
    let unread = state.core.notifications.mark_read(p.user.id, which).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `GET /api/notifications/preferences`.
pub async fn preferences(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<NotificationPrefs>> {
    Ok(Json(state.core.notifications.preferences(p.user.id).await?))
}

#[derive(Deserialize)]
pub struct Prefs {
    kinds: Vec<String>,
    #[serde(default)]
    inbound_unassigned: bool,
    #[serde(default)]
    browser: bool,
}

/// `PUT /api/notifications/preferences {kinds, inbound_unassigned, browser}`.
pub async fn set_preferences(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<Prefs>) -> ApiResult<Json<NotificationPrefs>> {
    let saved = state.core.notifications.set_preferences(p.team.id, p.user.id, &req.kinds, req.inbound_unassigned, req.browser).await?;
    Ok(Json(saved))
}
