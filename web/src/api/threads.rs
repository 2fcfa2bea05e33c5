//! The inbox: thread list (tabs, filters, orders) and its counts, detail, status, assignment,
//! priority and labels, reads and unread marks, notes and the event log.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json, Query};
use actors::domain::*;
use actors::ids::*;
use actors::ports::{Page, ThreadFilter};
use actors::rules;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    unread: bool,
    #[serde(default)]
    scheduled: bool,
    channel: Option<ChannelKind>,
    status: Option<ThreadStatus>,
    /// `me`, `none`, or a user id.
    assignee: Option<String>,
    search: Option<String>,
    /// One contact's threads, across channels.
    contact_id: Option<ContactId>,
    /// An inbox tab: open (open + pending), snoozed, resolved, all (the default here).
    view: Option<String>,
    label: Option<String>,
    priority: Option<String>,
    /// recent (the default) or priority.
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// An optional query value, blank meaning absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<ThreadSummary>>> {
    let mut filter = ThreadFilter {
        unread: q.unread,
        scheduled: q.scheduled,
        channel: q.channel,
        status: q.status,
        search: q.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        contact: q.contact_id,
        view: given(&q.view).map(rules::views::view).transpose()?,
        label: given(&q.label).map(|l| l.parse().map_err(|_| ApiError::invalid("label", "must be a label id"))).transpose()?,
        priority: given(&q.priority).map(rules::labels::priority).transpose()?,
        sort: given(&q.sort).map(rules::views::sort).transpose()?.unwrap_or_default(),
        viewer: Some(p.user.id),
        cursor: q.cursor,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        ..ThreadFilter::default()
    };
    match q.assignee.as_deref() {
        None | Some("") => {}
        Some("me") => filter.assignee = Some(p.user.id),
        Some("none") => filter.unassigned = true,
        Some(id) => filter.assignee = Some(id.parse().map_err(|_| ApiError::invalid("assignee", "must be me, none or a user id"))?),
    }
    Ok(Json(state.reads.list_threads(p.team.id, &filter).await?))
}

/// `GET /api/threads/counts`: how many conversations each tab holds (`mine` and `unassigned`
/// of the Open tab), at most a second old. Clients read it again after thread events.
pub async fn counts(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<ThreadCounts>> {
    Ok(Json(state.core.tab_counts.get(p.team.id, p.user.id).await?))
}

/// A thread of the caller's team, or 404.
async fn own_thread(state: &AppState, team: TeamId, raw: &str) -> ApiResult<ThreadSummary> {
    let id: ThreadId = path_id(raw, "thread")?;
    Ok(state.reads.thread(team, id).await?)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    cursor: Option<String>,
}

pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> ApiResult<Json<Value>> {
    let thread = own_thread(&state, p.team.id, &id).await?;
    let mut page = state.reads.messages(p.team.id, thread.id, q.cursor.as_deref(), 50).await?;
    page.items.reverse();
    let notes = state.reads.notes(p.team.id, thread.id, p.user.id).await?;
    let calls = state.reads.calls(p.team.id, thread.id).await?;
    let filter = actors::ports::FollowUpFilter { thread: Some(thread.id), limit: 100, ..Default::default() };
    let follow_ups = state.reads.follow_ups(p.team.id, &filter).await?.items;
    let rule_firings = state.reads.rule_firings(p.team.id, thread.id).await?;
    Ok(Json(json!({
        "thread": thread, "messages": page.items, "next_cursor": page.next_cursor, "notes": notes, "calls": calls,
        "follow_ups": follow_ups, "rule_firings": rule_firings,
    })))
}

#[derive(Deserialize)]
pub struct ThreadUpdate {
    status: Option<ThreadStatus>,
    /// The snooze's end (with `status: snoozed`, or alone).
    #[serde(default, with = "time::serde::rfc3339::option")]
    snoozed_until: Option<time::OffsetDateTime>,
    #[serde(default, with = "super::contacts::double_option")]
    assignee_id: Option<Option<UserId>>,
    /// none, low, medium, high or urgent.
    priority: Option<String>,
    /// The thread's labels (replacing its current ones).
    labels: Option<Vec<LabelId>>,
}

pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<ThreadUpdate>,
) -> ApiResult<Json<ThreadSummary>> {
    let thread: ThreadId = path_id(&id, "thread")?;
    let change = actors::ports::ThreadChange {
        status: req.status,
        snoozed_until: req.snoozed_until,
        assignee: req.assignee_id,
        priority: req.priority.as_deref().map(rules::labels::priority).transpose()?,
        labels: req.labels,
        add_labels: Vec::new(),
    };
    Ok(Json(state.core.threads.update(p.team.id, thread, p.user, change).await?))
}

pub async fn read(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<ThreadSummary>> {
    let thread: ThreadId = path_id(&id, "thread")?;
    Ok(Json(state.core.threads.mark_read(p.team.id, thread, p.user).await?))
}

/// `POST /api/threads/{id}/unread`: unread again for the caller alone (until they read it).
pub async fn unread(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<ThreadSummary>> {
    let thread: ThreadId = path_id(&id, "thread")?;
    Ok(Json(state.core.threads.mark_unread(p.team.id, thread, p.user).await?))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: i64,
}

/// The most events one catch-up returns; past that the client reloads the thread.
const CATCH_UP_LIMIT: i64 = 500;

pub async fn events(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let thread = own_thread(&state, p.team.id, &id).await?;
    if q.after < 0 {
        return Err(ApiError::invalid("after", "must be 0 or more"));
    }
    let mut events = state.reads.events_after(p.team.id, thread.id, p.user.id, q.after, CATCH_UP_LIMIT).await?;
    let reset_required = events.len() as i64 > CATCH_UP_LIMIT;
    if reset_required {
        events.clear();
    }
    Ok(Json(json!({ "events": events, "reset_required": reset_required, "last_seq": thread.last_seq })))
}

pub async fn notes(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let thread = own_thread(&state, p.team.id, &id).await?;
    Ok(Json(json!({ "notes": state.reads.notes(p.team.id, thread.id, p.user.id).await? })))
}

#[derive(Deserialize)]
pub struct NewNote {
    body: String,
    #[serde(default = "public")]
    visibility: Visibility,
}

fn public() -> Visibility {
    Visibility::Public
}

pub async fn add_note(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<NewNote>,
) -> ApiResult<(StatusCode, Json<Note>)> {
    let thread: ThreadId = path_id(&id, "thread")?;
    let note = state.core.threads.add_note(p.team.id, thread, p.user, req.body, req.visibility).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Deserialize)]
pub struct ForContact {
    contact_id: ContactId,
    channel: ChannelKind,
    /// Which of the team's numbers of that kind (default: the first).
    channel_id: Option<ChannelId>,
}

pub async fn for_contact(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<ForContact>) -> ApiResult<Json<ThreadSummary>> {
    Ok(Json(state.core.threads.open_for_contact(p.team.id, req.contact_id, req.channel, req.channel_id).await?))
}
