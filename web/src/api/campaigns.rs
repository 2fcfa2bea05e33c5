//! Campaigns (`/api/campaigns`): create (a draft), edit while draft or scheduled, start (now,
//! or at `send_at`), pause, resume, cancel, duplicate, delete (not while running), a preview of
//! the first recipients, and the recipients' outcomes as CSV. Scoped by team: another team's
//! campaign is a 404. Validation and state rules are the core's (`rules::campaigns`).

use super::analytics::defuse;
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, Auth, Json, Query};
use actors::DomainError;
use actors::campaigns::{CampaignInput, CampaignView};
use actors::ids::CampaignId;
use actors::ports::Page;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// Recipients per CSV chunk.
const CSV_PAGE: i64 = 1000;

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/campaigns` → `{items, next_cursor}`, newest first, each with its counts.
pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<CampaignView>>> {
    let limit = q.limit.unwrap_or(25).clamp(1, 100);
    Ok(Json(state.core.campaigns.list(p.team.id, q.cursor.as_deref(), limit).await?))
}

/// `POST /api/campaigns {name, channel_id, body | template_id, audience, send_at?}` → 201 draft.
pub async fn create(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Json(req): Json<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    Ok((StatusCode::CREATED, Json(state.core.campaigns.create(&by, req).await?)))
}

/// `GET /api/campaigns/{id}` → the campaign with `counts` and `rates`.
pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<CampaignView>> {
    let id: CampaignId = path_id(&id, "campaign")?;
    Ok(Json(state.core.campaigns.get(p.team.id, id).await?))
}

/// `PATCH /api/campaigns/{id}`: only while draft or scheduled (409 otherwise).
pub async fn update(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Json(req): Json<CampaignInput>,
) -> ApiResult<Json<CampaignView>> {
    let id: CampaignId = path_id(&id, "campaign")?;
    Ok(Json(state.core.campaigns.update(&by, id, req).await?))
}

/// `DELETE /api/campaigns/{id}`: soft, not while running (409); audited.
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: CampaignId = path_id(&id, "campaign")?;
    state.core.campaigns.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/campaigns/{id}/{start|pause|resume|cancel|duplicate}` (duplicate answers 201 with
/// the new draft).
pub async fn act(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let id: CampaignId = path_id(&id, "campaign")?;
    let c = &state.core.campaigns;
    let (status, view) = match action.as_str() {
        "start" => (StatusCode::OK, c.start(&by, id).await?),
        "pause" => (StatusCode::OK, c.pause(&by, id).await?),
        "resume" => (StatusCode::OK, c.resume(&by, id).await?),
        "cancel" => (StatusCode::OK, c.cancel(&by, id).await?),
        "duplicate" => (StatusCode::CREATED, c.duplicate(&by, id).await?),
        _ => return Err(ApiError::not_found("action")),
    };
    Ok((status, Json(view)))
}

/// `GET /api/campaigns/{id}/preview` → `{items: [{contact_id, name, phone, text,
/// missing_variables}]}` for the first recipients.
pub async fn preview(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: CampaignId = path_id(&id, "campaign")?;
    let items = state.core.campaigns.preview(&p.user, id).await?;
    Ok(Json(json!({ "items": items })))
}

const CSV_COLUMNS: &[&str] = &[
    "contact_id",
    "name",
    "phone",
    "status",
    "skip_reason",
    "error_code",
    "error_reason",
    "message_id",
    "replied_at",
    "opted_out_at",
    "updated_at",
];

fn ts(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}

/// `GET /api/campaigns/{id}/recipients.csv`: every recipient with its outcome, streamed a page
/// at a time (formula-safe cells).
pub async fn recipients_csv(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let id: CampaignId = path_id(&id, "campaign")?;
    let campaign = state.core.campaigns.get(p.team.id, id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::from(DomainError::Internal(e.to_string()));
    w.write_record(CSV_COLUMNS).map_err(internal)?;
    let head = w.into_inner().map_err(|e| ApiError::from(DomainError::Internal(e.to_string())))?;
    let (core, team) = (state.core.clone(), p.team.id);
    let pages = futures_util::stream::unfold((0i64, false), move |(after, done)| {
        let core = core.clone();
        async move {
            if done {
                return None;
            }
            let rows = match core.campaigns.recipients(team, id, after, CSV_PAGE).await {
                Ok(rows) => rows,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), (after, true))),
            };
            let last = rows.last()?.id;
            let short = (rows.len() as i64) < CSV_PAGE;
            let mut w = csv::Writer::from_writer(Vec::new());
            for r in &rows {
                let record = [
                    r.contact_id.to_string(),
                    defuse(&r.name),
                    defuse(&r.phone),
                    r.status.clone(),
                    r.skip_reason.clone().unwrap_or_default(),
                    r.error_code.map(|c| c.to_string()).unwrap_or_default(),
                    defuse(r.error_reason.as_deref().unwrap_or("")),
                    r.message_id.map(|m| m.to_string()).unwrap_or_default(),
                    ts(r.replied_at),
                    ts(r.opted_out_at),
                    ts(Some(r.updated_at)),
                ];
                if let Err(e) = w.write_record(&record) {
                    return Some((Err(std::io::Error::other(e.to_string())), (after, true)));
                }
            }
            let chunk = w.into_inner().map_err(|e| std::io::Error::other(e.to_string()));
            Some((chunk.map(bytes::Bytes::from), (last, short)))
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(head)) }).chain(pages);
    let name: String = campaign.campaign.name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    let disposition = format!("attachment; filename=\"campaign-{name}-recipients.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(body),
    )
        .into_response())
}
