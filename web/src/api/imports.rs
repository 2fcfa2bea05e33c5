//! CSV import and export of contacts. An import's file is spooled to a temporary file as it
//! arrives (it is read twice: to count its rows, then to import them) and handed to the core's
//! imports service; `/preview` reads only the beginning of the file. The export streams the
//! team's contacts a page at a time, in constant memory.

use super::analytics::defuse;
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, AdminActing, Auth, Query};
use actors::DomainError;
use actors::domain::{Contact, ImportJob, OnConflict};
use actors::ids::{ImportId, ListId};
use actors::imports::{ImportFile, ImportRequest, Started};
use actors::ports::ContactFilter;
use axum::body::Body;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio::io::AsyncWriteExt;

/// The most of a file's beginning the preview reads.
const PREVIEW_BYTES: usize = 256 * 1024;
/// Contacts one page of the export reads.
const EXPORT_PAGE: i64 = 1000;

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::new(e.status(), "bad_upload", e.body_text())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::from(DomainError::Internal(e.to_string()))
}

/// The form's fields: the file spooled to disk, the mapping and the conflict rule.
struct Upload {
    file: Option<ImportFile>,
    mapping: Option<HashMap<String, String>>,
    on_conflict: OnConflict,
}

async fn spool(mut field: Field<'_>) -> ApiResult<ImportFile> {
    let path = std::env::temp_dir().join(format!("switchboard-import-{}.csv", uuid::Uuid::new_v4()));
    let mut out = tokio::fs::File::create(&path).await.map_err(internal)?;
    // Owned from here: removed if anything below fails.
    let file = ImportFile::new(path);
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        out.write_all(&chunk).await.map_err(internal)?;
    }
    out.flush().await.map_err(internal)?;
    Ok(file)
}

async fn text(field: Field<'_>) -> ApiResult<String> {
    field.text().await.map_err(multipart_error)
}

async fn upload(mut form: Multipart) -> ApiResult<Upload> {
    let mut up = Upload { file: None, mapping: None, on_conflict: OnConflict::Skip };
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => up.file = Some(spool(field).await?),
            "mapping" => {
                let raw = text(field).await?;
                if !raw.trim().is_empty() {
                    up.mapping = Some(
                        serde_json::from_str(&raw).map_err(|_| ApiError::invalid("mapping", "must be a JSON object of header → field"))?,
                    );
                }
            }
            "on_conflict" => {
                let raw = text(field).await?;
                up.on_conflict = raw.trim().parse().map_err(|_| ApiError::invalid("on_conflict", "must be skip, fill or overwrite"))?;
            }
            _ => {}
        }
    }
    Ok(up)
}

/// The answer about an import: the job, and where its error rows download.
fn job_json(job: &ImportJob) -> Value {
    let mut v = serde_json::to_value(job).unwrap_or_default();
    v["errors_csv"] = format!("/api/contacts/import/{}/errors.csv", job.job_id).into();
    v
}

/// `POST /api/contacts/import` (multipart: `file`, `mapping?`, `on_conflict?`): up to 10,000
/// data rows → 200 with the summary and its errors; more → 202 `{job_id, …}`.
pub async fn import(State(state): State<AppState>, Acting(p, by): Acting, form: Multipart) -> ApiResult<Response> {
    let up = upload(form).await?;
    let file = up.file.ok_or_else(|| ApiError::invalid("file", "send the CSV file in the field `file`"))?;
    let req = ImportRequest { file, mapping: up.mapping, on_conflict: up.on_conflict };
    match state.core.imports.start(&by, &p.team, req).await? {
        Started::Done(job, errors) => {
            let mut v = job_json(&job);
            v["errors"] = serde_json::to_value(errors).unwrap_or_default();
            Ok((StatusCode::OK, axum::Json(v)).into_response())
        }
        Started::Running(job) => Ok((StatusCode::ACCEPTED, axum::Json(job_json(&job))).into_response()),
    }
}

/// `POST /api/contacts/import/preview` (multipart `file`) → `{headers, rows, mapping, fields}`.
pub async fn preview(State(state): State<AppState>, Auth(p): Auth, mut form: Multipart) -> ApiResult<axum::Json<Value>> {
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut head = Vec::new();
        let mut complete = true;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            head.extend_from_slice(&chunk);
            if head.len() >= PREVIEW_BYTES {
                complete = false;
                break;
            }
        }
        let preview = state.core.imports.preview(p.team.id, &head, complete).await?;
        return Ok(axum::Json(serde_json::to_value(preview).unwrap_or_default()));
    }
    Err(ApiError::invalid("file", "send the CSV file in the field `file`"))
}

/// `GET /api/contacts/import/{id}`: progress, then the summary (from any node).
pub async fn job(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<axum::Json<Value>> {
    let id: ImportId = path_id(&id, "import")?;
    Ok(axum::Json(job_json(&state.reads.import_job(p.team.id, id).await?)))
}

/// `DELETE /api/contacts/import/{id}`: cancels a running import (rows committed stay).
pub async fn cancel(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<axum::Json<Value>> {
    let id: ImportId = path_id(&id, "import")?;
    Ok(axum::Json(job_json(&state.core.imports.cancel(&by, id).await?)))
}

fn csv_response(name: &str, body: Body) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

/// `GET /api/contacts/import/{id}/errors.csv`: the rows that were not imported, with why, and
/// their cells under the file's own headers (formula-safe).
pub async fn errors_csv(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let id: ImportId = path_id(&id, "import")?;
    let job = state.reads.import_job(p.team.id, id).await?;
    let errors = state.reads.import_errors(p.team.id, id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["row".to_owned(), "field".to_owned(), "error".to_owned()];
    head.extend(job.headers.iter().map(|h| defuse(h)));
    w.write_record(&head).map_err(internal)?;
    for e in errors {
        let mut rec = vec![e.row.to_string(), defuse(&e.field), defuse(&e.message)];
        rec.extend(e.cells.iter().map(|c| defuse(c)));
        w.write_record(&rec).map_err(internal)?;
    }
    let body = w.into_inner().map_err(internal)?;
    Ok(csv_response(&format!("import-{id}-errors.csv"), Body::from(body)))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    search: Option<String>,
    tag: Option<String>,
    list_id: Option<String>,
}

fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

const EXPORT_COLUMNS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "tags",
    "company",
    "notes",
    "source",
    "opted_out",
    "opt_out_reason",
    "opted_out_at",
    "last_activity_at",
    "created_at",
    "id",
];

fn time_cell(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}

/// One contact as an export row (the columns of `EXPORT_COLUMNS`, then each custom field).
fn export_row(c: &Contact, keys: &[String]) -> Vec<String> {
    let o = |v: &Option<String>| defuse(v.as_deref().unwrap_or(""));
    let mut row = vec![
        defuse(&c.name),
        o(&c.first_name),
        o(&c.last_name),
        defuse(&c.phone),
        o(&c.email),
        defuse(&c.tags.join(", ")),
        o(&c.company),
        o(&c.notes),
        o(&c.source),
        if c.opted_out_at.is_some() { "yes".into() } else { String::new() },
        o(&c.opt_out_reason),
        time_cell(c.opted_out_at),
        time_cell(c.last_activity_at),
        time_cell(Some(c.created_at)),
        c.id.to_string(),
    ];
    row.extend(keys.iter().map(|k| defuse(c.custom_fields.get(k).and_then(Value::as_str).unwrap_or(""))));
    row
}

/// `GET /api/contacts/export.csv?search=&tag=&list_id=`: every live contact the filter selects,
/// in phone order, streamed a page at a time; one column per custom field (`custom:KEY`).
/// Admins only (contacts are personal data), audited.
pub async fn export_csv(
    State(state): State<AppState>,
    AdminActing(p, by): AdminActing,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let list_id = match present(q.list_id) {
        Some(raw) => {
            let id: ListId = path_id(&raw, "list")?;
            state.reads.list(p.team.id, id).await?;
            Some(id)
        }
        None => None,
    };
    let filter = ContactFilter { search: present(q.search), tag: present(q.tag), list_id, ..ContactFilter::default() };
    let fields = state.core.contacts.fields(p.team.id).await?;
    let details = json!({ "search": filter.search, "tag": filter.tag, "list_id": filter.list_id });
    state.core.accounts.record_by(&by, "contacts.exported", "team", Some(p.team.id.to_string()), details).await;
    let keys: Vec<String> = fields.iter().map(|f| f.key.clone()).collect();
    let mut head: Vec<String> = EXPORT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    head.extend(keys.iter().map(|k| format!("custom:{k}")));
    let mut first = csv::Writer::from_writer(Vec::new());
    first.write_record(&head).map_err(internal)?;
    let head = first.into_inner().map_err(internal)?;
    let (reads, team) = (state.reads.clone(), p.team.id);
    // (after, done): the phone of the last row sent, and whether the last page was short.
    let pages = futures_util::stream::unfold((None::<String>, false), move |(after, done)| {
        let (reads, filter, keys) = (reads.clone(), filter.clone(), keys.clone());
        async move {
            if done {
                return None;
            }
            let rows = match reads.contacts_after(team, &filter, after.as_deref(), EXPORT_PAGE).await {
                Ok(rows) => rows,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), (after, true))),
            };
            if rows.is_empty() {
                return None;
            }
            let last = rows.last().map(|c| c.phone.clone());
            let short = (rows.len() as i64) < EXPORT_PAGE;
            let mut w = csv::Writer::from_writer(Vec::new());
            for c in &rows {
                if let Err(e) = w.write_record(export_row(c, &keys)) {
                    return Some((Err(std::io::Error::other(e.to_string())), (after, true)));
                }
            }
            let chunk = w.into_inner().map_err(|e| std::io::Error::other(e.to_string()));
            Some((chunk.map(bytes::Bytes::from), (last, short)))
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(head)) }).chain(pages);
    Ok(csv_response("switchboard-contacts.csv", Body::from_stream(body)))
}
