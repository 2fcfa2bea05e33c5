//! `GET /api/search?q=&cursor=&limit=`: full-text search of the team's messages, the notes the
//! caller may see and its contacts, newest first, each hit with its snippet. The query's rules
//! are `actors::rules::search`; the SQL is `src/store/search.rs`.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Auth, Json, Query};
use actors::ports::{Page, SearchHit};
use actors::rules::search;
use axum::extract::State;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn search(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<SearchQuery>) -> ApiResult<Json<Page<SearchHit>>> {
    let terms = search::terms(&q.q)?;
    let limit = q.limit.unwrap_or(20).clamp(1, 50);
    Ok(Json(state.reads.search(p.team.id, p.user.id, &terms, q.cursor.as_deref(), limit).await?))
}
