//! Contacts CRUD, scoped by team: another team's contact is a 404.

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json, Query};
use actors::contacts::{ContactChange, ContactInput};
use actors::domain::Contact;
use actors::ids::ContactId;
use actors::ports::Page;
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
    Ok(Json(state.reads.list_contacts(p.team.id, search, q.cursor.as_deref(), limit).await?))
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

pub async fn create(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<NewContact>) -> ApiResult<(StatusCode, Json<Contact>)> {
    let input = ContactInput { name: req.name, phone: req.phone, email: req.email, tags: req.tags };
    let contact = state.core.contacts.create(p.team.id, input).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

pub async fn get(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<Contact>> {
    let id: ContactId = path_id(&id, "contact")?;
    Ok(Json(state.reads.contact(p.team.id, id).await?))
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
    let change = ContactChange { name: req.name, phone: req.phone, email: req.email, tags: req.tags, opted_out: req.opted_out };
    Ok(Json(state.core.contacts.update(p.team.id, id, change).await?))
}

/// Deletes a contact with its threads and history (admins only; audit-logged).
pub async fn delete(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: ContactId = path_id(&id, "contact")?;
    state.core.contacts.delete(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
