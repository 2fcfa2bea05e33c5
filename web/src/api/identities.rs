//! One's own identities at the sign-in provider: listed, and unlinked (never the last way to
//! sign in). Linking happens by signing in with the provider (`crate::oidc::flow`).

use super::path_id;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Acting, Auth, Json};
use actors::ids::IdentityId;
use actors::ports::{Identity, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;

/// `GET /api/auth/identities`: the caller's linked identities, oldest first. A person has a few
/// at most, so the page is always the whole list (`next_cursor` is null).
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Page<Identity>>> {
    let items = state.core.identities.list(p.user.id).await?;
    Ok(Json(Page { items, next_cursor: None }))
}

/// `DELETE /api/auth/identities/{id}`: 204; 404 for anyone else's; 409 when it is the caller's
/// last way to sign in (no password, no other identity).
pub async fn unlink(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: IdentityId = path_id(&id, "identity")?;
    state.core.identities.unlink(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
