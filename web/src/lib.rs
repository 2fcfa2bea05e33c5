//! Switchboard's HTTP and WebSocket edge: the JSON API, the Twilio webhooks, the Pusher-protocol
//! gateway and the agent pages. Handlers are thin: extract, call one actor or one query, answer.

mod agent_timing;
pub mod api;
pub mod csrf;
mod deadline;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod mail;
pub mod oidc;
pub mod pages;
pub mod twilio_signature;
pub mod twiml;
pub mod voice;
pub mod webhooks;

use actors::Core;
use actors::ports::Reads;
use async_trait::async_trait;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use governor::DefaultKeyedRateLimiter;
use secrecy::SecretString;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

/// Settings of the edge.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Pusher app credentials: clients connect with the key, channel auth is signed with the
    /// secret.
    pub app_id: String,
    pub app_key: String,
    pub app_secret: SecretString,
    /// The URL people and Twilio reach us at (webhook signatures are checked against it).
    pub public_base_url: String,
    /// Browser origins allowed to open the WebSocket.
    pub allowed_origins: Vec<String>,
    /// Whether anyone may sign up (otherwise invites are the only way in).
    pub open_signup: bool,
    /// Frames queued per connection before it counts as a slow consumer.
    pub ws_queue: usize,
    /// Bytes a WebSocket's read buffer starts with (it grows for a larger frame).
    pub ws_read_buffer: usize,
    /// Seconds of client silence before we ping it (sent to clients as `activity_timeout`).
    pub activity_timeout: u64,
    /// Client events per second per connection.
    pub client_events_per_second: u32,
    /// Behind a trusted reverse proxy: the header it puts the client's address in (e.g.
    /// `X-Forwarded-For`). Unset, the peer address is the client's.
    pub trusted_proxy_header: Option<String>,
    /// The trial guard's numbers, shown in settings.
    pub verified_numbers: Option<Vec<String>>,
    /// How long one request may take before the answer is 408 (actor calls and the pool time
    /// out sooner; this is the backstop), and how long a CSV upload may take.
    pub request_timeout: Duration,
    pub upload_timeout: Duration,
}

impl WebConfig {
    /// Whether session cookies need `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

/// Readiness of what the server depends on (Postgres, Redis).
#[async_trait]
pub trait Probe: Send + Sync {
    /// Each dependency and whether it answers.
    async fn check(&self) -> Vec<(&'static str, Result<(), String>)>;
}

/// Posts a signed form to this server's own webhook endpoints: the simulator goes through the
/// real, signed webhook path.
#[async_trait]
pub trait WebhookClient: Send + Sync {
    /// POSTs `params` to `path` with `X-Twilio-Signature: signature`; answers the status code.
    async fn post(&self, path: &str, signature: &str, params: &[(String, String)]) -> Result<u16, String>;

    /// Like `post`, also answering the body (a simulated call follows our TwiML answers).
    async fn post_read(&self, path: &str, signature: &str, params: &[(String, String)]) -> Result<(u16, String), String> {
        self.post(path, signature, params).await.map(|code| (code, String::new()))
    }
}

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Every write goes through the core's services (threads, contacts, accounts, channels).
    pub core: Arc<Core>,
    /// Reads only: the edge cannot write to the store.
    pub reads: Arc<dyn Reads>,
    pub config: Arc<WebConfig>,
    pub probe: Arc<dyn Probe>,
    pub loopback: Arc<dyn WebhookClient>,
    pub auth_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub metrics: Option<Arc<dyn Fn() -> String + Send + Sync>>,
    /// The deployment's OIDC provider, when one is configured.
    pub oidc: Option<Arc<oidc::OidcProvider>>,
    /// Where mail goes: SMTP, or the server log.
    pub outbox: Arc<dyn mail::Outbox>,
}

/// The whole HTTP surface.
pub fn router(state: AppState, static_dir: &std::path::Path) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let timeout = |limit: Duration| axum::middleware::from_fn_with_state(limit, deadline::within);
    Router::new()
        .merge(api::routes().layer(axum::middleware::from_fn_with_state(state.clone(), agent_timing::timed)))
        .merge(webhooks::routes())
        .merge(gateway::routes())
        .merge(pages::routes())
        .merge(oidc::flow::routes())
        .nest_service("/static", ServeDir::new(static_dir))
        // A layer covers the routes added before it: uploads get their own, longer timeout.
        .layer(timeout(state.config.request_timeout))
        .merge(api::upload_routes().layer(timeout(state.config.upload_timeout)))
        // Every answer is JSON, unknown routes and methods too.
        .fallback(|| async { error::ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), csrf::same_origin_only))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(CatchPanicLayer::custom(|_| {
            IntoResponse::into_response(error::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION, axum::http::header::COOKIE]))
        .with_state(state)
}

/// What `/api/me` answers, shared with the pages' boot data.
pub(crate) fn api_me_json(state: &AppState, p: &actors::ports::Principal) -> serde_json::Value {
    api::me_json(state, p)
}
