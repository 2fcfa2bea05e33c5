//! A local OpenID Connect provider for the e2e tests: an axum server on 127.0.0.1:0 serving
//! discovery, its JWKS, `/authorize` (approves at once as the user the test set, and records
//! the PKCE challenge and nonce) and `/token` (checks the client's credentials, the redirect URI
//! and the PKCE verifier, and answers an RS256 ID token carrying the nonce). The key is a fixed
//! test key checked in beside this file (generating one at test time is slow in debug).
//! Knobs: the user, a wrong nonce in the next tokens, and stopping the server.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "switchboard-e2e";
pub const CLIENT_SECRET: &str = "e2e-client-secret";
const KEY_PEM: &str = include_str!("oidc_test_key.pem");

/// Who the provider says signs in.
#[derive(Clone, Debug)]
pub struct ProviderUser {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

impl ProviderUser {
    /// A verified user with a fresh subject.
    pub fn verified(email: &str) -> ProviderUser {
        ProviderUser { subject: format!("sub-{}", super::uuid_short()), email: email.to_owned(), email_verified: true, name: None }
    }
}

/// One authorization the client may redeem once.
struct Grant {
    user: ProviderUser,
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

#[derive(Default)]
struct Inner {
    user: Option<ProviderUser>,
    wrong_nonce: bool,
    grants: HashMap<String, Grant>,
    /// The query of the last `/authorize` request.
    last_authorize: HashMap<String, String>,
    tokens_issued: usize,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    /// The signing key, and its id (changed by `rotate_key`).
    key: Arc<Mutex<(Arc<CoreRsaPrivateSigningKey>, String)>>,
    inner: Arc<Mutex<Inner>>,
}

/// The running provider.
pub struct OidcProvider {
    pub issuer: String,
    shared: Shared,
    handle: JoinHandle<()>,
}

impl OidcProvider {
    pub async fn start() -> OidcProvider {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// A provider on `listener` (a test that starts it late binds the address it promised).
    pub fn start_on(listener: tokio::net::TcpListener) -> OidcProvider {
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared { issuer: issuer.clone(), key: Arc::new(Mutex::new(signing_key("e2e-key"))), inner: Arc::default() };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(shared.clone());
        let handle = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        OidcProvider { issuer, shared, handle }
    }

    /// The next sign-ins are this user's.
    pub fn set_user(&self, user: ProviderUser) {
        self.shared.inner.lock().unwrap().user = Some(user);
    }

    /// Whether the next ID tokens carry a nonce other than the one asked for.
    pub fn set_wrong_nonce(&self, wrong: bool) {
        self.shared.inner.lock().unwrap().wrong_nonce = wrong;
    }

    /// The query of the last `/authorize` request.
    pub fn last_authorize(&self) -> HashMap<String, String> {
        self.shared.inner.lock().unwrap().last_authorize.clone()
    }

    /// Rotates the signing key: a new key id, published in the JWKS (the old one no longer is).
    /// (The same RSA key under a new id: what a client sees of a rotation is the id.)
    pub fn rotate_key(&self, kid: &str) {
        *self.shared.key.lock().unwrap() = signing_key(kid);
    }

    /// How many tokens `/token` has answered.
    pub fn tokens_issued(&self) -> usize {
        self.shared.inner.lock().unwrap().tokens_issued
    }

    /// Stops answering (connections are refused from now on).
    pub fn stop(&self) {
        self.handle.abort();
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn signing_key(kid: &str) -> (Arc<CoreRsaPrivateSigningKey>, String) {
    let key = CoreRsaPrivateSigningKey::from_pem(KEY_PEM, Some(JsonWebKeyId::new(kid.into()))).expect("the test key");
    (Arc::new(key), kid.to_owned())
}

async fn discovery(State(s): State<Shared>) -> Json<Value> {
    let iss = &s.issuer;
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
    }))
}

async fn jwks(State(s): State<Shared>) -> Json<Value> {
    let key = s.key.lock().unwrap().0.clone();
    Json(serde_json::to_value(CoreJsonWebKeySet::new(vec![key.as_verification_key()])).unwrap())
}

/// Approves at once: a code for the current user, back to the client's redirect URI.
async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    inner.last_authorize = q.clone();
    let param = |k: &str| q.get(k).cloned().unwrap_or_default();
    if param("client_id") != CLIENT_ID || param("response_type") != "code" || param("code_challenge_method") != "S256" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let Some(user) = inner.user.clone() else { return (StatusCode::BAD_REQUEST, "no user set").into_response() };
    let code = format!("code-{}", super::uuid_short());
    let redirect_uri = param("redirect_uri");
    inner.grants.insert(
        code.clone(),
        Grant { user, challenge: param("code_challenge"), nonce: param("nonce"), redirect_uri: redirect_uri.clone() },
    );
    let mut to = url::Url::parse(&redirect_uri).unwrap();
    to.query_pairs_mut().append_pair("code", &code).append_pair("state", &param("state"));
    Redirect::to(to.as_str()).into_response()
}

/// Redeems a code: client credentials (Basic), the same redirect URI, the PKCE verifier.
async fn token(State(s): State<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    let expected = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    if basic != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_client" }))).into_response();
    }
    let param = |k: &str| form.get(k).cloned().unwrap_or_default();
    if param("grant_type") != "authorization_code" {
        return refuse("unsupported_grant_type");
    }
    let mut inner = s.inner.lock().unwrap();
    let Some(grant) = inner.grants.remove(&param("code")) else { return refuse("invalid_grant") };
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(param("code_verifier").as_bytes()));
    if challenge != grant.challenge || param("redirect_uri") != grant.redirect_uri {
        return refuse("invalid_grant");
    }
    let nonce = if inner.wrong_nonce { "not-the-nonce".to_owned() } else { grant.nonce };
    inner.tokens_issued += 1;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut claims = json!({
        "iss": s.issuer,
        "sub": grant.user.subject,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": nonce,
        "email": grant.user.email,
        "email_verified": grant.user.email_verified,
    });
    if let Some(name) = &grant.user.name {
        claims["name"] = json!(name);
    }
    let (key, kid) = s.key.lock().unwrap().clone();
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, signing_input.as_bytes()).unwrap();
    let id_token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    Json(json!({ "access_token": format!("at-{}", super::uuid_short()), "token_type": "Bearer", "expires_in": 600, "id_token": id_token }))
        .into_response()
}
