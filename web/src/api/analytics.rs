//! The dashboard's numbers and the CSV export of messages.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AdminActing, Auth, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub async fn summary(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<axum::Json<Value>> {
    let mut summary = state.reads.summary(p.team.id).await?;
    let online = state.core.cluster.online(p.team.id);
    summary["online_agents"] = online.len().into();
    Ok(axum::Json(summary))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default = "thirty")]
    days: i64,
}

fn thirty() -> i64 {
    30
}

/// The most rows one export carries.
const EXPORT_LIMIT: i64 = 100_000;

/// A cell that a spreadsheet would run as a formula gets a leading apostrophe: contacts write
/// these bodies, not us. Spreadsheets skip leading whitespace (space, tab, newline, NBSP, …) and
/// read full-width signs as their ASCII twins, so those count too.
pub(crate) fn defuse(cell: &str) -> String {
    let first = cell.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}').chars().next();
    let leading_control = cell.starts_with(['\t', '\r', '\n']);
    match first {
        Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}') => format!("'{cell}"),
        _ if leading_control => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Every message of the last `days` days as CSV: admins only (it is the whole team's
/// correspondence), and audit-logged.
pub async fn export_csv(
    State(state): State<AppState>,
    AdminActing(p, by): AdminActing,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    if !(1..=366).contains(&q.days) {
        return Err(ApiError::invalid("days", "must be 1 to 366"));
    }
    state
        .core
        .accounts
        .record_by(&by, "messages.exported", "team", Some(p.team.id.to_string()), serde_json::json!({ "days": q.days }))
        .await;
    let since = OffsetDateTime::now_utc() - Duration::days(q.days);
    let rows = state.reads.export(p.team.id, since, EXPORT_LIMIT).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::from(actors::DomainError::Internal(e.to_string()));
    w.write_record([
        "created_at",
        "thread_id",
        "contact_name",
        "contact_phone",
        "channel",
        "direction",
        "status",
        "body",
        "error_code",
        "error_reason",
    ])
    .map_err(internal)?;
    for r in rows {
        let created = r.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        w.write_record([
            created,
            r.thread_id.to_string(),
            defuse(&r.contact_name),
            defuse(&r.contact_phone),
            r.channel.to_string(),
            r.direction.to_string(),
            r.status.to_string(),
            defuse(&r.body),
            r.error_code.map(|c| c.to_string()).unwrap_or_default(),
            defuse(r.error_reason.as_deref().unwrap_or("")),
        ])
        .map_err(internal)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::from(actors::DomainError::Internal(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"switchboard-messages.csv\""),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::defuse("+1 415"), "'+1 415");
        assert_eq!(super::defuse("hello"), "hello");
        for sneaky in [" =1+1", "\n=1+1", "\u{a0}=1+1", "\u{ff1d}1+1", "\t@SUM(A1)", "\r-2", "\u{3000}+1"] {
            assert!(super::defuse(sneaky).starts_with('\''), "{sneaky:?} is defused");
        }
        assert_eq!(super::defuse("a = b"), "a = b");
    }
}
