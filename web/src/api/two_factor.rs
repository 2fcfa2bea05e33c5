//! Two-factor enrolment (signed-in user): set up TOTP (secret, otpauth URL and its QR code as
//! SVG), confirm it with a code (recovery codes shown this once), regenerate recovery codes,
//! turn it off with the password; and the team's requirement (admins).

use super::auth::verify_password;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, AdminActing, Json, hash_secret};
use actors::rules::totp;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct Code {
    code: String,
}

#[derive(Deserialize)]
pub struct Password {
    password: String,
}

#[derive(Deserialize)]
pub struct Required {
    required: bool,
}

/// New recovery codes: the codes to show once, and their hashes to keep.
pub(crate) fn new_recovery_codes() -> (Vec<String>, Vec<Vec<u8>>) {
    let codes: Vec<String> = (0..totp::RECOVERY_CODES).map(|_| totp::recovery_code(rand::random())).collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// The hash a recovery code is kept as (of its one normalized form).
pub(crate) fn recovery_hash(code: &str) -> Vec<u8> {
    hash_secret(&totp::normalize_recovery_code(code).unwrap_or_default())
}

/// The otpauth URL as a QR code, in SVG.
fn qr_svg(url: &str) -> ApiResult<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| ApiError::from(actors::DomainError::Internal(e.to_string())))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// `POST /api/auth/two-factor/setup`: a new pending secret (a pending one is replaced).
pub async fn setup(State(state): State<AppState>, Acting(_, by): Acting) -> ApiResult<Json<Value>> {
    let setup = state.core.two_factor.setup(&by).await?;
    let svg = qr_svg(&setup.otpauth_url)?;
    Ok(Json(json!({ "secret": setup.secret, "otpauth_url": setup.otpauth_url, "qr_svg": svg })))
}

/// `POST /api/auth/two-factor/confirm {code}`: two-factor is on; the recovery codes, once.
pub async fn confirm(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<Code>) -> ApiResult<Json<Value>> {
    let (codes, hashes) = new_recovery_codes();
    state.core.two_factor.confirm(&by, &req.code, &hashes).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

/// `POST /api/auth/two-factor/recovery-codes {code}`: new recovery codes, the old ones void.
pub async fn regenerate(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<Code>) -> ApiResult<Json<Value>> {
    let (codes, hashes) = new_recovery_codes();
    state.core.two_factor.regenerate_codes(&by, &req.code, &hashes).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

/// `DELETE /api/auth/two-factor {password}`: off, with the password; 409 while the team
/// requires it.
pub async fn disable(State(state): State<AppState>, Acting(_, by): Acting, Json(req): Json<Password>) -> ApiResult<StatusCode> {
    let hash = state.reads.credentials(&by.user.email).await?.and_then(|(_, hash)| hash);
    if !verify_password(req.password, hash).await {
        return Err(ApiError::invalid("password", "is not your password"));
    }
    state.core.two_factor.disable(&by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/team/two-factor {required}` (admins).
pub async fn require(State(state): State<AppState>, AdminActing(_, by): AdminActing, Json(req): Json<Required>) -> ApiResult<Json<Value>> {
    state.core.two_factor.require(&by, req.required).await?;
    Ok(Json(json!({ "required": req.required })))
}
