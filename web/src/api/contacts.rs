//! Contacts CRUD, scoped by team: another team's contact is a 404.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json, Query};
use actors::domain::Contact;
use actors::ids::ContactId;
use actors::phone;
use actors::ports::{ContactPatch, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<Contact>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    Ok(Json(state.store.list_contacts(p.team.id, search, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
pub struct NewContact {
    name: String,
    phone: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be at most 200 characters"));
    }
    Ok(name.to_owned())
}

fn check_email(email: Option<&str>) -> ApiResult<Option<String>> {
    match email.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(e) if e.len() <= 254 && e.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()) => Ok(Some(e.to_lowercase())),
        Some(_) => Err(ApiError::invalid("email", "is not an email address")),
    }
}

fn check_tags(tags: Vec<String>) -> ApiResult<Vec<String>> {
    let tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    if tags.len() > 50 || tags.iter().any(|t| t.chars().count() > 50) {
        return Err(ApiError::invalid("tags", "at most 50 tags of at most 50 characters"));
    }
    Ok(tags)
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewContact>) -> ApiResult<(StatusCode, Json<Contact>)> {
    let phone = phone::normalize(&req.phone, None)?;
    let contact = state
        .store
        .create_contact(p.team.id, &check_name(&req.name)?, &phone, check_email(req.email.as_deref())?.as_deref(), &check_tags(req.tags)?)
        .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Contact>> {
    let id: ContactId = path_id(&id, "contact")?;
    Ok(Json(state.store.contact(p.team.id, id).await?))
}

#[derive(Deserialize)]
pub struct ContactUpdate {
    name: Option<String>,
    phone: Option<String>,
    #[serde(default, with = "double_option")]
    email: Option<Option<String>>,
    tags: Option<Vec<String>>,
    opted_out: Option<bool>,
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
    let patch = ContactPatch {
        name: req.name.as_deref().map(check_name).transpose()?,
        phone: req.phone.as_deref().map(|ph| phone::normalize(ph, None)).transpose()?,
        email: match req.email {
            None => None,
            Some(e) => Some(check_email(e.as_deref())?),
        },
        tags: req.tags.map(check_tags).transpose()?,
        opted_out: req.opted_out,
    };
    Ok(Json(state.store.update_contact(p.team.id, id, patch).await?))
}

pub async fn delete(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ContactId = path_id(&id, "contact")?;
    state.store.delete_contact(p.team.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
