//! Passwords: change one's own (the current one required, other sessions signed out), forgot
//! (always the same answer), reset through a mailed link, the link an admin makes to hand over,
//! and confirming a sign-up through its mailed link. Links carry their token in the URL
//! fragment (`#token=`), so it reaches no server log and no Referer; the page posts it.

use super::auth::{DEVICE_COOKIE, check_rate, client_ip, hash_password, new_secret, start_session, verify_password};
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, ClientInfo, Json, hash_secret, session_credential, session_id};
use crate::mail::{ConfirmSignUp, Mail, PasswordChanged, PasswordReset, SignUpAttempt};
use actors::ids::UserId;
use actors::ports::{NewAccount, PendingSignUp, Principal};
use actors::rules;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A page of ours, on the public base URL.
fn link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.config.public_base_url.trim_end_matches('/'))
}

/// Closes the sockets of sessions that just ended, on every node.
fn close_sessions(state: &AppState, ended: &[Vec<u8>]) {
    for hash in ended {
        state.core.cluster.revoke(&session_credential(hash));
    }
}

/// Tells the owner their password changed.
fn mail_changed(state: &AppState, p: &Principal) {
    let forgot_link = link(state, "/forgot-password");
    let body = PasswordChanged { name: &p.user.name, forgot_link: &forgot_link };
    state.outbox.post(Mail::new(&p.user.email, "Your Switchboard password was changed", &body));
}

#[derive(Deserialize)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// `POST /api/auth/password {current_password, new_password}`: 204. A wrong current password
/// is an invalid `current_password` and counts as a failed sign-in of the account (so a
/// stolen session cannot guess it faster than the sign-in form). Every other session of the
/// user ends and its sockets close; the owner is mailed.
pub async fn change(
    State(state): State<AppState>,
    Acting(p, by): Acting,
    headers: HeaderMap,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    let device = CookieJar::from_headers(&headers).get(DEVICE_COOKIE).map(|c| hash_secret(c.value()));
    state.core.accounts.may_try_sign_in(&p.user.email, device.as_deref()).await?;
    let stored = state.reads.credentials(&p.user.email).await?.and_then(|(_, hash)| hash);
    if !verify_password(req.current_password, stored).await {
        state.core.accounts.sign_in_failed(&p.user.email).await?;
        return Err(ApiError::invalid("current_password", "is not your current password"));
    }
    rules::password(&req.new_password, &p.user.name, &p.user.email).map_err(|e| renamed(e, "new_password"))?;
    let hash = hash_password(req.new_password).await?;
    let current = session_id(&headers).map(|id| hash_secret(&id));
    let ended = state.core.passwords.change(&by, &hash, current.as_deref()).await?;
    close_sessions(&state, &ended);
    mail_changed(&state, &p);
    Ok(StatusCode::NO_CONTENT)
}

/// The policy names `password`; the change form's field is `new_password`.
fn renamed(e: actors::DomainError, field: &'static str) -> actors::DomainError {
    match e {
        actors::DomainError::Invalid { message, .. } => actors::DomainError::Invalid { field, message },
        e => e,
    }
}

#[derive(Deserialize)]
pub struct Forgot {
    email: String,
}

/// `POST /api/auth/password/forgot {email}`: 202 whatever the address. When it is an active
/// account's (and it has not asked three times this hour), a reset link is mailed to it.
pub async fn forgot(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<Forgot>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let email = rules::account_email(&req.email)?;
    if let Some((p, _)) = state.reads.credentials(&email).await? {
        let token = new_secret();
        if state.core.passwords.request_reset(p.user.id, &hash_secret(&token), &client).await?.is_some() {
            let link = link(&state, &format!("/reset-password#token={token}"));
            let body = PasswordReset { name: &p.user.name, link: &link, minutes: rules::RESET_LINK_MINUTES };
            state.outbox.post(Mail::new(&p.user.email, "Reset your Switchboard password", &body));
        }
    }
    let message = "If an account uses this address, a link to reset its password is on its way.";
    Ok((StatusCode::ACCEPTED, Json(json!({ "message": message }))))
}

#[derive(Deserialize)]
pub struct ResetCheck {
    token: String,
}

/// `POST /api/auth/password/reset/check {token}`: `{email}` of a live link (the page shows
/// whose password is set), or an invalid `token`.
pub async fn check_reset(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<ResetCheck>,
) -> ApiResult<Json<Value>> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let p = reset_user(&state, &req.token).await?;
    Ok(Json(json!({ "email": p.user.email })))
}

async fn reset_user(state: &AppState, token: &str) -> ApiResult<Principal> {
    let found = state.core.passwords.reset_user(&hash_secret(token.trim())).await?;
    found.ok_or_else(|| ApiError::invalid("token", "this reset link is unknown, used or expired: ask for a new one"))
}

#[derive(Deserialize)]
pub struct Reset {
    token: String,
    password: String,
}

/// `POST /api/auth/password/reset {token, password}`: 204. The link is used up (with every
/// other open link of the user), every session ends and its sockets close, the sign-in hold
/// after failed attempts is lifted, and the owner is mailed. The user then signs in (with
/// their second factor, when they have one).
pub async fn reset(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<Reset>,
) -> ApiResult<StatusCode> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let p = reset_user(&state, &req.token).await?;
    rules::password(&req.password, &p.user.name, &p.user.email)?;
    let hash = hash_password(req.password).await?;
    let (p, ended) = state.core.passwords.reset(&hash_secret(req.token.trim()), &hash, &client).await?;
    close_sessions(&state, &ended);
    mail_changed(&state, &p);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/team/members/{id}/password-reset` (admins): 201 `{url, expires_at}`, a reset
/// link for the member to be handed over by the admin (it works once, for a day).
pub async fn admin_link(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let member: UserId = path_id(&id, "member")?;
    let token = new_secret();
    let expires_at = state.core.passwords.admin_reset_link(&by, member, &hash_secret(&token)).await?;
    let url = link(&state, &format!("/reset-password#token={token}"));
    let expires_at = expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(json!({ "url": url, "expires_at": expires_at }))))
}

/// With mail set up, a sign-up waits for its address to be confirmed, and answers 202 the same
/// for every address: a new one is mailed the confirmation link; one with an account has its
/// owner told of the attempt (and nothing else happens). The password is hashed either way,
/// so both take the same time.
pub(super) async fn hold_sign_up(state: &AppState, sign_up: PendingSignUp, password: String) -> ApiResult<Response> {
    use axum::response::IntoResponse;
    let password_hash = hash_password(password).await?;
    match state.reads.credentials(&sign_up.email).await? {
        Some((owner, _)) => {
            let (sign_in_link, forgot_link) = (link(state, "/sign-in"), link(state, "/forgot-password"));
            let body = SignUpAttempt { name: &owner.user.name, sign_in_link: &sign_in_link, forgot_link: &forgot_link };
            state.outbox.post(Mail::new(&owner.user.email, "Someone tried to sign up with your address", &body));
        }
        None => {
            let token = new_secret();
            let sign_up = PendingSignUp { password_hash, ..sign_up };
            state.core.passwords.hold_sign_up(&hash_secret(&token), &sign_up).await?;
            let link = link(state, &format!("/sign-up/confirm#token={token}"));
            let body = ConfirmSignUp { name: &sign_up.name, link: &link, hours: rules::SIGN_UP_CONFIRM_HOURS };
            state.outbox.post(Mail::new(&sign_up.email, "Confirm your e-mail for Switchboard", &body));
        }
    }
    let message = "Check your e-mail: we sent a link to finish signing up.";
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "confirm_email", "message": message }))).into_response())
}

#[derive(Deserialize)]
pub struct ConfirmSignUpReq {
    token: String,
}

/// `POST /api/auth/sign-up/confirm {token}`: the held sign-up becomes an account (a new team,
/// or the invite's) and a session starts: 201 as a direct sign-up. The link works once.
pub async fn confirm_sign_up(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<ConfirmSignUpReq>,
) -> ApiResult<Response> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let held = state.core.passwords.take_sign_up(&hash_secret(req.token.trim())).await?;
    let simulated_channels = if held.team_name.is_some() { super::auth::simulated_channels() } else { vec![] };
    let account = NewAccount {
        team_name: held.team_name,
        invite_hash: held.invite_hash,
        email: held.email,
        name: held.name,
        password_hash: held.password_hash,
        simulated_channels,
    };
    let p = state.core.accounts.sign_up(account, &client).await?;
    start_session(&state, &p, StatusCode::CREATED).await
}
