//! Team administration: members (list; admins change roles, deactivate, reactivate and remove),
//! invites (create, list the open ones, revoke, re-send) and the audit log. The rules (the last
//! admin, nobody removes themselves) live in the domain; this file maps requests onto the
//! members and accounts services.

use super::auth::new_secret;
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, AdminActing, Auth, Json, Query, hash_secret};
use actors::audit::AuditEntry;
use actors::domain::Role;
use actors::ids::{InviteId, UserId};
use actors::members::{AssignedThreads, MemberOutcome};
use actors::ports::{Invite, MemberChange, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// The team's members with who is online. Admins also see deactivated members (`active:
/// false`); agents see the active team they can assign threads to.
pub async fn members(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let online = state.core.cluster.online(p.team.id);
    let admin = p.user.role == Role::Admin;
    let list: Vec<Value> = state
        .reads
        .team_members(p.team.id)
        .await?
        .into_iter()
        .filter(|m| admin || m.active)
        .map(|m| {
            json!({
                "id": m.user.id, "name": m.user.name, "email": m.user.email, "role": m.user.role,
                "active": m.active, "deactivated_at": m.deactivated_at.map(rfc3339),
                "created_at": rfc3339(m.created_at), "online": online.contains(&m.user.id),
            })
        })
        .collect();
    Ok(Json(json!({ "members": list })))
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    active: Option<bool>,
    /// On deactivation: `keep` (default) or `unassign` their threads.
    #[serde(default)]
    threads: AssignedThreads,
}

/// `PATCH /api/team/members/{id}`: role and/or active.
pub async fn update_member(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Path(id): Path<String>,
    Json(req): Json<MemberPatch>,
) -> ApiResult<Json<MemberOutcome>> {
    let id: UserId = path_id(&id, "member")?;
    let change = MemberChange { role: req.role, active: req.active, remove: false };
    Ok(Json(state.core.members.change(&by, id, change, req.threads).await?))
}

#[derive(Deserialize, Default)]
pub struct RemoveQuery {
    #[serde(default)]
    threads: AssignedThreads,
}

/// `DELETE /api/team/members/{id}?threads=keep|unassign`: removes a member from the team. Their
/// messages and notes stay, signed with their name.
pub async fn remove_member(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let id: UserId = path_id(&id, "member")?;
    let change = MemberChange { remove: true, ..Default::default() };
    state.core.members.change(&by, id, change, q.threads).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct NewInvite {
    #[serde(default)]
    email: Option<String>,
    role: Role,
    #[serde(default)]
    expires_in_days: Option<i64>,
}

/// An invite with its link (the token is shown when made or re-sent, never again).
fn invite_with_link(state: &AppState, invite: Invite, token: &str) -> Value {
    let url = format!("{}/invite/{token}", state.config.public_base_url.trim_end_matches('/'));
    json!({ "invite": invite, "token": token, "url": url })
}

pub async fn create_invite(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Json(req): Json<NewInvite>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let token = new_secret();
    let invite = state.core.accounts.invite(&by, req.email.as_deref(), req.role, req.expires_in_days, &hash_secret(&token)).await?;
    Ok((StatusCode::CREATED, Json(invite_with_link(&state, invite, &token))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Open invites, newest first (expired ones too: they can be re-sent).
pub async fn invites(State(state): State<AppState>, Admin(p): Admin, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<Invite>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    Ok(Json(state.reads.invites(p.team.id, q.cursor.as_deref(), limit).await?))
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: InviteId = path_id(&id, "invite")?;
    state.core.accounts.revoke_invite(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
pub struct Resend {
    #[serde(default)]
    expires_in_days: Option<i64>,
}

/// A new link for an open invite, open for another week (or as asked); the old link stops
/// working.
pub async fn resend_invite(
    State(state): State<AppState>,
    AdminActing(_, by): AdminActing,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let id: InviteId = path_id(&id, "invite")?;
    // The body is optional: none re-sends for the default week.
    let req: Resend = if body.iter().all(u8::is_ascii_whitespace) {
        Resend::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let days = req.expires_in_days;
    let token = new_secret();
    let invite = state.core.accounts.renew_invite(&by, id, days, &hash_secret(&token)).await?;
    Ok(Json(invite_with_link(&state, invite, &token)))
}

/// `GET /api/audit?cursor=&limit=`: the team's audit log, newest first (admins).
pub async fn audit(State(state): State<AppState>, Admin(p): Admin, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<AuditEntry>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    if let Some(cursor) = &q.cursor
        && cursor.len() > 100
    {
        return Err(ApiError::invalid("cursor", "is not a cursor this server gave out"));
    }
    Ok(Json(state.reads.audit_log(p.team.id, q.cursor.as_deref(), limit).await?))
}
