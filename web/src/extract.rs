//! Extractors: JSON, form and query bodies whose rejections are our JSON errors, and the signed-in
//! principal (session cookie or API token).

use crate::AppState;
use crate::error::ApiError;
use actors::domain::Role;
use actors::ports::Principal;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

/// `axum::Json` with our error body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::Form` with our error body.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub struct Form<T>(pub T);

/// `axum::extract::Query` with our error body.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sb_session";

/// SHA-256 of a secret (session id, token): only hashes are stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The signed-in principal, if the request carries a live session or token.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Err(ApiError::unauthorized());
        };
        return Ok(state.reads.token_principal(&hash_secret(token.trim())).await?);
    }
    match session_id(headers) {
        Some(id) => Ok(state.reads.session_principal(&hash_secret(&id)).await?),
        None => Ok(None),
    }
}

/// The credential a request was made with, as sockets are bound to it: `s:` and the session's
/// hash, or `t:` and the API token's. Revoking it closes the sockets it authorized.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(token_credential(&hash_secret(token.trim())));
    }
    session_id(headers).map(|id| session_credential(&hash_secret(&id)))
}

/// The credential key of an API token, from its hash.
pub fn token_credential(token_hash: &[u8]) -> String {
    format!("t:{}", hex::encode(token_hash))
}

/// The credential key of a session, from its hash.
pub fn session_credential(id_hash: &[u8]) -> String {
    format!("s:{}", hex::encode(id_hash))
}

/// The session id from the cookie header.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE).map(|c| c.value().to_owned())
}

/// A request by a signed-in user (401 otherwise).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        principal(state, &parts.headers).await?.map(Auth).ok_or_else(ApiError::unauthorized)
    }
}

/// A request by a signed-in admin (401, or 403 for agents).
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        if p.user.role != Role::Admin {
            return Err(ApiError::forbidden("only admins may do this"));
        }
        Ok(Admin(p))
    }
}
