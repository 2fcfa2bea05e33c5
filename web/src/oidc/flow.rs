//! The browser's round trip through the provider: `GET /auth/oidc/start[?invite=]` and
//! `GET /auth/oidc/callback`. Authorization-code flow with PKCE (S256), a random `state` and
//! `nonce` kept server-side (by hash, ten minutes, single use) and bound to the browser that
//! started it by an HttpOnly cookie, so a callback URL opened elsewhere fails. The ID token is
//! verified by `openidconnect` (signature by the provider's JWKS, issuer, audience, expiry,
//! nonce); whom it signs in is the identities service's call. Every failure comes back to the
//! sign-in page as `/sign-in?error=CODE` (the page owns the wording; nothing from the provider
//! is echoed), except an unreachable provider: a 503 page.

use super::OidcProvider;
use crate::AppState;
use crate::api::{check_rate, new_secret, signed_in, two_factor_challenge};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientInfo, Query, hash_secret};
use actors::identities::ProviderClaims;
use actors::ports::OidcLogin;
use actors::rules;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The cookie that binds a started sign-in to this browser (its hash is kept with the login).
const BINDING_COOKIE: &str = "sb_oidc";

/// The routes of the round trip.
pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/oidc/start", get(start)).route("/auth/oidc/callback", get(callback))
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    invite: Option<String>,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// The provider's refusal (the person said no, or the provider would not sign them in).
    #[serde(default)]
    error: Option<String>,
}

/// The configured provider, or 404: without one these routes do not exist.
fn provider(state: &AppState) -> ApiResult<Arc<OidcProvider>> {
    state.oidc.clone().ok_or_else(|| ApiError::not_found("route"))
}

/// The per-address limit of sign-in attempts (the client's address as the audit log has it).
fn limit(state: &AppState, client: &actors::audit::Client) -> ApiResult<()> {
    match client.ip.as_deref().and_then(|ip| ip.parse().ok()) {
        Some(ip) => check_rate(state, ip),
        None => Ok(()),
    }
}

/// The page shown while the provider cannot be reached.
fn unavailable(name: &str) -> Response {
    let name: String = name
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Sign-in unavailable</title>\
         <p>Signing in with {name} is unavailable right now: the provider cannot be reached. Try again in a moment.</p>\
         <p><a href=\"/sign-in\">Back to sign-in</a></p>"
    );
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, HeaderValue::from_static("5"))], Html(body)).into_response()
}

/// Back to the sign-in page with an error code it explains.
fn refused(code: &str) -> Response {
    Redirect::to(&format!("/sign-in?error={code}")).into_response()
}

/// `GET /auth/oidc/start[?invite=TOKEN]`: a new pending sign-in, and a redirect to the provider.
pub async fn start(
    State(state): State<AppState>,
    ClientInfo(client_info): ClientInfo,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state)?;
    limit(&state, &client_info)?;
    let Ok(client) = provider.client().await else { return Ok(unavailable(provider.display_name())) };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request =
        client.authorize_url(AuthenticationFlow::<CoreResponseType>::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
    for scope in &provider.settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    // One binding per browser: two tabs signing in at once both come back to it.
    let jar = CookieJar::from_headers(&headers);
    let binding = jar.get(BINDING_COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() == 64).unwrap_or_else(new_secret);
    let invite = q.invite.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let login = OidcLogin {
        state_hash: hash_secret(csrf.secret()),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        invite_hash: invite.map(hash_secret),
        binding_hash: hash_secret(&binding),
        expires_at: OffsetDateTime::now_utc() + Duration::seconds(rules::oidc::LOGIN_SECS),
    };
    state.core.identities.begin(&login).await?;
    // Lax: the provider's redirect back is a top-level navigation, which carries it.
    let cookie = Cookie::build((BINDING_COOKIE, binding))
        .path("/auth/oidc")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .max_age(Duration::seconds(rules::oidc::LOGIN_SECS))
        .build();
    Ok((CookieJar::new().add(cookie), Redirect::to(url.as_str())).into_response())
}

/// `GET /auth/oidc/callback?code&state` (or `?error=&state`): finishes the sign-in.
pub async fn callback(
    State(state): State<AppState>,
    ClientInfo(client_info): ClientInfo,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state)?;
    limit(&state, &client_info)?;
    // Before the state is used up: once the provider is back, a reload finishes the sign-in.
    let Ok(client) = provider.client().await else { return Ok(unavailable(provider.display_name())) };
    let Some(state_param) = q.state.as_deref().filter(|s| !s.is_empty()) else { return Ok(refused("oidc_state")) };
    let Some(login) = state.core.identities.take(&hash_secret(state_param)).await? else { return Ok(refused("oidc_state")) };
    let binding = CookieJar::from_headers(&headers).get(BINDING_COOKIE).map(|c| hash_secret(c.value()));
    if binding.as_deref() != Some(login.binding_hash.as_slice()) {
        return Ok(refused("oidc_state"));
    }
    if q.error.is_some() {
        return Ok(refused("oidc_denied"));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else { return Ok(refused("oidc_denied")) };
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(request) => request.set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier)).request_async(&provider.http).await,
        Err(e) => {
            tracing::warn!(error = %e, "the OIDC provider has no token endpoint");
            return Ok(refused("oidc_provider"));
        }
    };
    let tokens = match exchange {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(error = %e, "OIDC code exchange failed");
            return Ok(refused("oidc_provider"));
        }
    };
    let Some(id_token) = tokens.id_token() else {
        tracing::warn!("the OIDC provider answered no ID token");
        return Ok(refused("oidc_provider"));
    };
    let nonce = Nonce::new(login.nonce);
    let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
        // Signed by a key we do not know: the provider may have rotated its keys; fetch them again.
        Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => match provider.refresh().await {
            Some(fresh) => id_token.claims(&fresh.id_token_verifier(), &nonce).cloned(),
            None => Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)),
        },
        other => other.cloned(),
    };
    let claims = match verified {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(error = %e, "OIDC ID token refused");
            return Ok(refused("oidc_token"));
        }
    };
    let issuer = claims.issuer().as_str().to_owned();
    let claims = ProviderClaims {
        issuer: issuer.clone(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified(),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
    };
    let p = match state.core.identities.sign_in(&claims, login.invite_hash.as_deref(), &client_info).await? {
        Ok(p) => p,
        Err(refusal) => return Ok(refused(refusal.code())),
    };
    // Two-factor on: the provider was the first factor; the sign-in page asks for the code.
    let method = json!({ "method": "oidc", "issuer": issuer });
    if let Some(challenge) = two_factor_challenge(&state, &p, method.clone()).await? {
        return Ok(Redirect::to(&format!("/sign-in#challenge={challenge}")).into_response());
    }
    let done = signed_in(&state, &headers, &p, client_info, method).await?;
    Ok(done.redirect("/"))
}
