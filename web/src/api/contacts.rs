//! Contacts, scoped by team (another team's contact is a 404): list with search, tag and
//! order; create, change, delete softly, restore, purge (admins); the team's custom contact
//! fields and default country.

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json, Query};
use actors::contacts::{ContactChange, ContactInput};
use actors::domain::{Contact, ContactField};
use actors::ids::{ContactId, ListId};
use actors::ports::{ContactFilter, ContactSort, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    sort: ContactSort,
    /// `true`: the deleted contacts (to restore or purge them).
    #[serde(default)]
    deleted: bool,
    /// In this list (static or segment).
    list_id: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

fn present(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<Contact>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let list_id = match present(q.list_id) {
        Some(raw) => {
            let id: ListId = path_id(&raw, "list")?;
            state.reads.list(p.team.id, id).await?;
            Some(id)
        }
        None => None,
    };
    let filter = ContactFilter { search: present(q.search), tag: present(q.tag), sort: q.sort, deleted: q.deleted, list_id };
    Ok(Json(state.reads.list_contacts(p.team.id, &filter, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
pub struct NewContact {
    #[serde(default)]
    name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: String,
    email: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    company: Option<String>,
    notes: Option<String>,
    source: Option<String>,
    #[serde(default)]
    custom_fields: Map<String, Value>,
    #[serde(default)]
    opted_out: bool,
    opt_out_reason: Option<String>,
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewContact>) -> ApiResult<(StatusCode, Json<Contact>)> {
    let input = ContactInput {
        name: req.name,
        first_name: req.first_name,
        last_name: req.last_name,
        phone: req.phone,
        email: req.email,
        tags: req.tags,
        company: req.company,
        notes: req.notes,
        source: req.source.or_else(|| Some("manual".into())),
        custom_fields: req.custom_fields,
        opted_out: req.opted_out,
        opt_out_reason: req.opt_out_reason,
    };
    let contact = state.core.contacts.create(&p.team, input).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Contact>> {
    let id: ContactId = path_id(&id, "contact")?;
    Ok(Json(state.reads.contact(p.team.id, id).await?))
}

#[derive(Deserialize)]
pub struct ContactUpdate {
    name: Option<String>,
    #[serde(default, with = "double_option")]
    first_name: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    last_name: Option<Option<String>>,
    phone: Option<String>,
    #[serde(default, with = "double_option")]
    email: Option<Option<String>>,
    tags: Option<Vec<String>>,
    #[serde(default, with = "double_option")]
    company: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    notes: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    source: Option<Option<String>>,
    custom_fields: Option<Map<String, Value>>,
    opted_out: Option<bool>,
    #[serde(default, with = "double_option")]
    opt_out_reason: Option<Option<String>>,
}

/// Tells an absent field (leave it) from an explicit `null` (clear it).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(req): Json<ContactUpdate>,
) -> ApiResult<Json<Contact>> {
    let id: ContactId = path_id(&id, "contact")?;
    let change = ContactChange {
        name: req.name,
        first_name: req.first_name,
        last_name: req.last_name,
        phone: req.phone,
        email: req.email,
        tags: req.tags,
        company: req.company,
        notes: req.notes,
        source: req.source,
        custom_fields: req.custom_fields,
        opted_out: req.opted_out,
        opt_out_reason: req.opt_out_reason,
    };
    Ok(Json(state.core.contacts.update(&p.team, id, change).await?))
}

#[derive(Deserialize)]
pub struct DeleteQuery {
    /// Delete for good, with every thread and message (admins; for privacy requests).
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/contacts/{id}`: hides the contact (its threads stay readable; audited);
/// `?purge=true` (admins) deletes it with its history for good.
pub async fn delete(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> ApiResult<StatusCode> {
    let id: ContactId = path_id(&id, "contact")?;
    match q.purge {
        true => state.core.contacts.purge(&by, id).await?,
        false => state.core.contacts.delete(&by, id).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/contacts/{id}/restore`: a deleted contact is back.
pub async fn restore(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<Json<Contact>> {
    let id: ContactId = path_id(&id, "contact")?;
    Ok(Json(state.core.contacts.restore(&by, id).await?))
}

/// `GET /api/team/contact-fields` → `{fields: [{key, label}]}`.
pub async fn fields(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "fields": state.core.contacts.fields(p.team.id).await? })))
}

#[derive(Deserialize)]
pub struct FieldsReq {
    fields: Vec<FieldReq>,
}

#[derive(Deserialize)]
pub struct FieldReq {
    key: String,
    label: String,
}

/// `PUT /api/team/contact-fields {fields: [{key, label}]}` (admins): the whole set.
pub async fn set_fields(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<FieldsReq>) -> ApiResult<Json<Value>> {
    let fields = req.fields.into_iter().map(|f| ContactField { key: f.key, label: f.label }).collect();
    Ok(Json(json!({ "fields": state.core.contacts.set_fields(&by, fields).await? })))
}

#[derive(Deserialize)]
pub struct CountryReq {
    default_country: Option<String>,
}

/// `PUT /api/team/default-country {default_country: "US" | null}` (admins).
pub async fn set_default_country(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Json(req): Json<CountryReq>,
) -> ApiResult<Json<Value>> {
    let country = state.core.contacts.set_default_country(&by, req.default_country.as_deref()).await?;
    Ok(Json(json!({ "default_country": country })))
}
