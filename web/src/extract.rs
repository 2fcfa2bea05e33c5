//! Extractors: JSON, form and query bodies whose rejections are our JSON errors, and the signed-in
//! principal (session cookie or API token).

use crate::AppState;
use crate::error::ApiError;
use actors::audit::{Actor, Client};
use actors::domain::Role;
use actors::ports::Principal;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

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
        // API tokens are not held back by the team's two-factor requirement: they are made by a
        // signed-in session (which had to enrol first) and are revoked on their own.
        let p = state.reads.token_principal(&hash_secret(token.trim())).await?;
        return Ok(p.map(|p| Principal { two_factor_enrollment_due: false, ..p }));
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
        let p = principal(state, &parts.headers).await?.ok_or_else(ApiError::unauthorized)?;
        if p.two_factor_enrollment_due && !enrollment_route(parts.uri.path()) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "two_factor_enrollment_required",
                "your team requires two-factor sign-in: turn it on first",
            ));
        }
        Ok(Auth(p))
    }
}

/// What a session that still has to enrol in two-factor may reach (sign-out needs no principal).
fn enrollment_route(path: &str) -> bool {
    path == "/api/me" || path == "/api/auth/two-factor" || path.starts_with("/api/auth/two-factor/")
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

/// The client's address: the peer, or, behind a reverse proxy that is configured as trusted
/// (`TRUSTED_PROXY_HEADER`), the last address that proxy added to its header. Used only when
/// configured: anyone can send such a header to a server that is not behind that proxy.
pub fn client_ip(trusted_header: Option<&str>, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    trusted_header
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .or(peer.map(|p| p.ip()))
}

/// Where a request came from: its client address and user agent (for the audit log).
pub struct ClientInfo(pub Client);

impl ClientInfo {
    fn of(state: &AppState, parts: &Parts) -> Client {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let ip = client_ip(state.config.trusted_proxy_header.as_deref(), &parts.headers, peer);
        let agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
        Client::new(ip.map(|ip| ip.to_string()), agent)
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo(ClientInfo::of(state, parts)))
    }
}

/// A signed-in user acting from a client: the principal, and the actor audited changes are
/// attributed to.
pub struct Acting(pub Principal, pub Actor);

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        let actor = Actor::new(p.user.clone(), ClientInfo::of(state, parts));
        Ok(Acting(p, actor))
    }
}

/// An admin acting from a client (401, or 403 for agents).
pub struct AdminActing(pub Principal, pub Actor);

impl FromRequestParts<AppState> for AdminActing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Admin(p) = Admin::from_request_parts(parts, state).await?;
        let actor = Actor::new(p.user.clone(), ClientInfo::of(state, parts));
        Ok(AdminActing(p, actor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_header_counts_only_when_configured() {
        let peer: SocketAddr = "10.0.0.9:5555".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.7, 198.51.100.2".parse().unwrap());
        assert_eq!(client_ip(None, &headers, Some(peer)), Some(peer.ip()), "unset: the peer, whatever the client sent");
        assert_eq!(
            client_ip(Some("x-forwarded-for"), &headers, Some(peer)).unwrap().to_string(),
            "198.51.100.2",
            "the last entry, the proxy's own"
        );
        assert_eq!(client_ip(Some("x-real-ip"), &headers, Some(peer)), Some(peer.ip()), "configured but absent: the peer");
    }
}
