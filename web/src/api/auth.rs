//! Accounts: sign-up (new team, or an invite), sign-in, sign-out, me, and API tokens (create,
//! list, revoke). Team administration (members, invites, audit log) is in `team.rs`.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, Auth, ClientInfo, Json, Query, SESSION_COOKIE, hash_secret, session_id};
use actors::audit::Actor;
use actors::domain::ChannelKind;
use actors::ids::TokenId;
use actors::ports::{ApiToken, NewAccount, NewChannel, Page, PendingSignUp, Principal};
use actors::rules;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use time::{Duration, OffsetDateTime};

const SESSION_DAYS: i64 = 30;

#[derive(Deserialize)]
pub struct SignUp {
    email: String,
    password: String,
    name: String,
    #[serde(default)]
    team_name: Option<String>,
    #[serde(default)]
    invite: Option<String>,
}

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

/// A random secret for sessions, tokens and invites: 32 bytes, hex.
pub(crate) fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub(crate) fn check_rate(state: &AppState, ip: std::net::IpAddr) -> ApiResult<()> {
    state.auth_limiter.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        ApiError::rate_limited(wait.as_secs() + 1)
    })
}

/// Argon2id, off the async threads: a hash takes tens of milliseconds of CPU.
pub(super) async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(|e| ApiError::from(actors::DomainError::Internal(e.to_string())))?
        .map_err(|e| ApiError::from(actors::DomainError::Internal(e.to_string())))
}

/// Verifies off the async threads; with no hash (unknown email) it verifies against a dummy,
/// so both failures take the same time.
pub(crate) async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A password nobody has, verified against when the email is unknown so both failures take
/// the same time.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| Argon2::default().hash_password(b"not a real password").map(|h| h.to_string()).unwrap_or_default());

/// The session cookie: HttpOnly (scripts never see it), SameSite=Lax, Secure on https.
fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value)).path("/").http_only(true).same_site(SameSite::Lax).secure(secure).build()
}

/// Starts a session: stores its hash, answers the body with the cookie.
pub(super) async fn start_session(state: &AppState, p: &Principal, status: StatusCode) -> ApiResult<Response> {
    let cookie = session_cookie_for(state, p).await?;
    Ok((status, CookieJar::new().add(cookie), axum::Json(json!({ "user": p.user, "team": p.team }))).into_response())
}

/// Starts a session: stores its hash, answers its cookie.
async fn session_cookie_for(state: &AppState, p: &Principal) -> ApiResult<Cookie<'static>> {
    let id = new_secret();
    let expires = OffsetDateTime::now_utc() + Duration::days(SESSION_DAYS);
    state.core.accounts.start_session(p.user.id, &hash_secret(&id), expires).await?;
    let mut cookie = session_cookie(id, state.config.secure_cookies());
    cookie.set_max_age(Duration::days(SESSION_DAYS));
    Ok(cookie)
}

pub async fn sign_up(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<SignUp>,
) -> ApiResult<Response> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let email = rules::account_email(&req.email)?;
    let name = rules::person_name(&req.name)?;
    rules::password(&req.password, &name, &email)?;
    let invite_hash = req.invite.as_deref().map(|t| hash_secret(t.trim()));
    let team_name = match (&invite_hash, req.team_name.as_deref().map(str::trim)) {
        (Some(_), _) => None,
        (None, _) if !state.config.open_signup => {
            return Err(ApiError::forbidden("sign-up is by invitation only"));
        }
        (None, Some(t)) if !t.is_empty() => Some(t.to_owned()),
        (None, _) => {
            return Err(ApiError::invalid("team_name", "is required (1 to 200 characters) without an invite"));
        }
    };
    if state.outbox.delivers() {
        let held = PendingSignUp { email, name, password_hash: String::new(), team_name, invite_hash };
        return super::passwords::hold_sign_up(&state, held, req.password).await;
    }
    let simulated_channels = if team_name.is_some() { simulated_channels() } else { vec![] };
    let password_hash = hash_password(req.password).await?;
    let account = NewAccount { team_name, invite_hash, email, name, password_hash, simulated_channels };
    let p = state.core.accounts.sign_up(account, &client).await?;
    start_session(&state, &p, StatusCode::CREATED).await
}

/// A new team starts in simulator mode: one simulated SMS and one WhatsApp number, each with its
/// own account sid and auth token so webhooks are signed and checked like real ones.
pub fn simulated_channels() -> Vec<NewChannel> {
    [ChannelKind::Sms, ChannelKind::Whatsapp]
        .into_iter()
        .map(|kind| NewChannel {
            kind,
            // Twilio's own magic test number: it can never be a real customer's.
            number: "+15005550006".into(),
            account_sid: format!("AC{}", &new_secret()[..32]),
            auth_token: new_secret()[..32].to_owned(),
            messaging_service_sid: None,
            simulated: true,
        })
        .collect()
}

pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<SignIn>,
) -> ApiResult<Response> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let email = req.email.trim().to_lowercase();
    let jar = CookieJar::from_headers(&headers);
    let device = jar.get(DEVICE_COOKIE).map(|c| hash_secret(c.value()));
    // Held back after failed attempts (the same for an email with no account), unless this is a
    // device the account signed in from before.
    state.core.accounts.may_try_sign_in(&email, device.as_deref()).await?;
    let found = state.reads.credentials(&email).await?;
    // Unknown email and wrong password look the same, and take the same time.
    // An account without a password (it joined by signing in with the provider) fails the same
    // way: its hash is the dummy's.
    let (principal, hash) = match found {
        Some((p, hash)) => (Some(p), hash),
        None => (None, None),
    };
    let ok = verify_password(req.password, hash).await;
    let Some(p) = principal.clone().filter(|_| ok) else {
        let (team, user) = principal.map(|p| (p.team.id, p.user.id)).unzip();
        state.core.accounts.record_sign_in_failure(&email, team, user, &client).await;
        state.core.accounts.sign_in_failed(&email).await?;
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong email or password"));
    };
    // With two-factor on, the password alone signs nobody in: a challenge, and no session.
    if let Some(challenge) = two_factor_challenge(&state, &p, json!({ "method": "password" })).await? {
        return Ok(axum::Json(json!({ "two_factor_required": true, "challenge": challenge })).into_response());
    }
    Ok(signed_in(&state, &headers, &p, client, json!({ "method": "password" })).await?.json())
}

/// With two-factor on for `p`, a first factor signs nobody in: a new challenge (its id, to hand
/// to the browser) for the second step; `None` when two-factor is off. `first_factor` (the
/// method that passed the first step) is in the audit entry of the sign-in the challenge finishes.
pub(crate) async fn two_factor_challenge(state: &AppState, p: &Principal, first_factor: Value) -> ApiResult<Option<String>> {
    if !state.core.two_factor.state(p.user.id).await?.enabled {
        return Ok(None);
    }
    let challenge = new_secret();
    let expires = OffsetDateTime::now_utc() + Duration::seconds(rules::totp::CHALLENGE_SECS);
    state.core.accounts.start_challenge(p.user.id, &hash_secret(&challenge), expires, &first_factor).await?;
    Ok(Some(challenge))
}

#[derive(Deserialize)]
pub struct SignInTwoFactor {
    challenge: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

/// `POST /api/auth/sign-in/two-factor {challenge, code | recovery_code}`: the second step of a
/// sign-in. A wrong code counts as a failed sign-in of the account (and against the challenge's
/// five tries); an unknown, used, expired or exhausted challenge is 401 like a wrong code.
pub async fn sign_in_two_factor(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Json(req): Json<SignInTwoFactor>,
) -> ApiResult<Response> {
    check_rate(&state, client_ip(&state, &headers, addr))?;
    let wrong = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong or expired code");
    let challenge = hash_secret(req.challenge.trim());
    let Some((p, first_factor)) = state.core.accounts.try_challenge(&challenge).await? else { return Err(wrong()) };
    let device = CookieJar::from_headers(&headers).get(DEVICE_COOKIE).map(|c| hash_secret(c.value()));
    state.core.accounts.may_try_sign_in(&p.user.email, device.as_deref()).await?;
    let (ok, method) = match (req.code.as_deref(), req.recovery_code.as_deref()) {
        (Some(code), None) => (state.core.two_factor.check_code(p.user.id, code).await?, "totp"),
        (None, Some(code)) => {
            let ok = rules::totp::normalize_recovery_code(code).is_some()
                && state.core.accounts.use_recovery_code(p.user.id, &client, &super::two_factor::recovery_hash(code)).await?;
            (ok, "recovery_code")
        }
        _ => return Err(ApiError::invalid("code", "send either code or recovery_code")),
    };
    if !ok {
        let actor = Actor::new(p.user.clone(), client);
        let details = json!({ "email": p.user.email, "reason": "two_factor" });
        state.core.accounts.record_by(&actor, "sign_in.failed", "user", Some(p.user.id.to_string()), details).await;
        state.core.accounts.sign_in_failed(&p.user.email).await?;
        return Err(wrong());
    }
    // Single use: of two requests with one challenge, one signs in.
    if !state.core.accounts.finish_challenge(&challenge).await? {
        return Err(wrong());
    }
    let mut details = if first_factor.is_object() { first_factor } else { json!({ "method": "password" }) };
    details["two_factor"] = json!(method);
    Ok(signed_in(&state, &headers, &p, client, details).await?.json())
}

/// A sign-in that succeeded: the old session ends, the device is remembered, the success is
/// audited (with `details`: the method), and the answer carries the new session's cookies.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    client: actors::audit::Client,
    details: Value,
) -> ApiResult<SignedIn> {
    let jar = CookieJar::from_headers(headers);
    // Rotate: a session id known before sign-in never becomes a signed-in one.
    if let Some(old) = session_id(headers) {
        state.core.accounts.end_session(&hash_secret(&old)).await?;
    }
    // This device is now known to the account (a new device gets its cookie).
    let device_id = jar.get(DEVICE_COOKIE).map(|c| c.value().to_owned()).unwrap_or_else(new_secret);
    state.core.accounts.signed_in(&p.user, &hash_secret(&device_id)).await?;
    let actor = Actor::new(p.user.clone(), client);
    state.core.accounts.record_by(&actor, "sign_in.succeeded", "user", Some(p.user.id.to_string()), details).await;
    let mut device_cookie = Cookie::build((DEVICE_COOKIE, device_id))
        .path("/api/auth")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .build();
    device_cookie.set_max_age(Duration::days(400));
    let session = session_cookie_for(state, p).await?;
    let body = json!({ "user": p.user, "team": p.team });
    Ok(SignedIn { cookies: CookieJar::new().add(session).add(device_cookie), body })
}

/// A started session: its cookies (the session, the device), answered as JSON to the API or as
/// a redirect to a page (a sign-in with the provider comes back as a navigation).
pub(crate) struct SignedIn {
    cookies: CookieJar,
    body: Value,
}

impl SignedIn {
    /// `200 {user, team}` with the cookies.
    fn json(self) -> Response {
        (StatusCode::OK, self.cookies, axum::Json(self.body)).into_response()
    }

    /// `303` to `to` with the cookies.
    pub(crate) fn redirect(self, to: &str) -> Response {
        (self.cookies, axum::response::Redirect::to(to)).into_response()
    }
}

/// The cookie that names a device an account has signed in from (its hash is kept): a device
/// known to the account is never held back by failed attempts made elsewhere.
pub(super) const DEVICE_COOKIE: &str = "sb_device";

/// The client's address (see `extract::client_ip`).
pub(super) fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> std::net::IpAddr {
    crate::extract::client_ip(state.config.trusted_proxy_header.as_deref(), headers, Some(peer)).unwrap_or(peer.ip())
}

pub async fn sign_out(State(state): State<AppState>, ClientInfo(client): ClientInfo, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = session_id(&headers) {
        let hash = hash_secret(&id);
        if let Some(p) = state.reads.session_principal(&hash).await? {
            let actor = Actor::new(p.user.clone(), client);
            state.core.accounts.record_by(&actor, "sign_out", "user", Some(p.user.id.to_string()), json!({})).await;
        }
        state.core.accounts.end_session(&hash).await?;
        // Its open sockets close now, on every node (4009: pusher-js does not reconnect).
        state.core.cluster.revoke(&crate::extract::session_credential(&hash));
    }
    let jar = CookieJar::new().remove(session_cookie(String::new(), state.config.secure_cookies()));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}

/// What `/api/me` and the pages' boot data say.
pub fn me_json(state: &AppState, p: &Principal) -> Value {
    let (host, port) = ws_host_port(&state.config.public_base_url);
    json!({
        "user": p.user,
        "team": p.team,
        "role": p.user.role,
        "pusher": { "app_id": state.config.app_id, "key": state.config.app_key, "ws_host": host, "ws_port": port, "auth_endpoint": "/pusher/auth" },
    })
}

/// Where browsers open the socket: the public base URL's host and port (the scheme's default
/// when it names none).
fn ws_host_port(base: &str) -> (String, u16) {
    match url::Url::parse(base) {
        Ok(u) => (u.host_str().unwrap_or("localhost").to_owned(), u.port_or_known_default().unwrap_or(80)),
        Err(_) => ("localhost".to_owned(), 80),
    }
}

/// The sign-in methods besides a password: `{oidc: {name} | null}`.
pub async fn providers(State(state): State<AppState>) -> Json<Value> {
    let oidc = state.oidc.as_ref().map(|p| json!({ "name": p.display_name() }));
    Json(json!({ "oidc": oidc }))
}

/// `GET /api/me`: `me_json` plus whether two-factor is on for the user and required by the team.
pub async fn me(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let tf = state.core.two_factor.state(p.user.id).await?;
    let mut body = me_json(&state, &p);
    body["two_factor"] = json!({ "enabled": tf.enabled, "required": tf.team_requires });
    Ok(Json(body))
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
    #[serde(default)]
    expires_in_days: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
}

/// A new token: the token as listed, plus the secret itself, shown this once.
pub async fn create_token(
    State(state): State<AppState>,
    Acting(_, by): Acting,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let token = format!("sb_{}", new_secret());
    let expiry = rules::TokenExpiry { in_days: req.expires_in_days, at: req.expires_at };
    let created = state.core.accounts.create_token(&by, &req.name, expiry, &hash_secret(&token)).await?;
    let mut body = serde_json::to_value(created).map_err(|e| ApiError::from(actors::DomainError::Internal(e.to_string())))?;
    body["token"] = Value::String(token);
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    /// Every token of the team (admins only), not just one's own.
    #[serde(default)]
    all: bool,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Live tokens, newest first: one's own, or (admins, `?all=true`) the whole team's.
pub async fn list_tokens(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<TokenQuery>) -> ApiResult<Json<Page<ApiToken>>> {
    let owner = rules::token_owner(&p.user, q.all)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    Ok(Json(state.reads.list_tokens(p.team.id, owner, q.cursor.as_deref(), limit).await?))
}

/// Revokes a token at once: 204, or 404 for one that is not the caller's to revoke.
pub async fn revoke_token(State(state): State<AppState>, Acting(_, by): Acting, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: TokenId = path_id(&id, "token")?;
    let hash = state.core.accounts.revoke_token(&by, id).await?;
    // Sockets whose channels the token authorized close now, on every node.
    state.core.cluster.revoke(&crate::extract::token_credential(&hash));
    Ok(StatusCode::NO_CONTENT)
}
