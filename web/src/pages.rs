//! The agent's pages (askama): sign-in and sign-up, the inbox app, the contacts page, the
//! dashboard, the canned replies, one's own security page (two-factor), and the admin's settings
//! and audit log. The app page is a shell
//! with boot data; the ES modules in `web/static/app/` (entry `main.js`) render it live from the
//! API and the socket.

use crate::AppState;
use crate::api_me_json;
use crate::extract::principal;
use actors::domain::Role;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

#[derive(Template, WebTemplate)]
#[template(path = "auth.html")]
struct AuthPage {
    title: String,
    mode: String,
    invite: String,
    open_signup: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "app.html")]
struct AppPage {
    title: String,
    page: String,
    boot_json: String,
}

/// Adds the pages' security headers. Scripts only from our origin (no inline script runs: the
/// boot data is a JSON block), the socket only to our own host, no framing. Inline style
/// attributes stay allowed: the app sets per-avatar colours with them.
fn with_policy(state: &AppState, mut res: Response) -> Response {
    let ws_origin = state.config.public_base_url.replacen("http", "ws", 1);
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; \
         connect-src 'self' {ws_origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox))
        .route("/threads/{id}", get(thread))
        .route("/contacts", get(contacts))
        .route("/contacts/{id}", get(contact))
        .route("/settings", get(settings))
        .route("/dashboard", get(dashboard))
        .route("/audit", get(audit))
        .route("/security", get(security))
        .route("/replies", get(replies))
        .route("/campaigns", get(campaigns))
        .route("/sign-in", get(sign_in))
        .route("/sign-up", get(sign_up))
        .route("/invite/{token}", get(invite))
        .route("/forgot-password", get(forgot_password))
        .route("/reset-password", get(reset_password))
        .route("/sign-up/confirm", get(confirm_sign_up))
}

fn auth_page(state: &AppState, mode: &str, invite: String) -> Response {
    let title = match mode {
        "sign-in" => "Sign in",
        "forgot" => "Forgot your password",
        "reset" => "Choose a new password",
        "confirm" => "Confirm your e-mail",
        _ => "Sign up",
    };
    let page = AuthPage { title: format!("{title} · Switchboard"), mode: mode.into(), invite, open_signup: state.config.open_signup };
    with_policy(state, page.into_response())
}

async fn sign_in(State(state): State<AppState>) -> Response {
    auth_page(&state, "sign-in", String::new())
}

async fn sign_up(State(state): State<AppState>) -> Response {
    auth_page(&state, "sign-up", String::new())
}

async fn forgot_password(State(state): State<AppState>) -> Response {
    auth_page(&state, "forgot", String::new())
}

/// The reset link's page: the token is in the URL fragment, read by the page's script.
async fn reset_password(State(state): State<AppState>) -> Response {
    auth_page(&state, "reset", String::new())
}

/// The sign-up confirmation link's page (token in the fragment, as for reset).
async fn confirm_sign_up(State(state): State<AppState>) -> Response {
    auth_page(&state, "confirm", String::new())
}

async fn invite(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    auth_page(&state, "sign-up", token.chars().filter(|c| c.is_ascii_alphanumeric()).take(128).collect())
}

/// Renders the app for a signed-in user, or sends them to sign in. `thread` and `contact` are
/// the conversation or contact the URL opens (boot data `thread_id`, `contact_id`).
async fn app(state: &AppState, headers: &HeaderMap, page: &str, thread: Option<String>, contact: Option<String>) -> Response {
    let p = match principal(state, headers).await {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => return Redirect::to("/sign-in").into_response(),
    };
    // A team that requires two-factor sends a member who has not turned it on to do that first.
    if p.two_factor_enrollment_due && page != "security" {
        return Redirect::to("/security").into_response();
    }
    if matches!(page, "settings" | "audit") && p.user.role != Role::Admin {
        let body = "<!doctype html><meta charset=utf-8><title>Forbidden</title>\
                    <p>Settings are for admins. <a href=\"/\">Back to the inbox</a></p>";
        return (StatusCode::FORBIDDEN, Html(body)).into_response();
    }
    let mut boot = api_me_json(state, &p);
    boot["thread_id"] = thread.map(serde_json::Value::String).unwrap_or(serde_json::Value::Null);
    boot["contact_id"] = contact.map(serde_json::Value::String).unwrap_or(serde_json::Value::Null);
    // Safe inside <script>: no "</script>" or "<!--" can survive.
    let boot_json = boot.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    let title = match page {
        "settings" => "Settings",
        "dashboard" => "Dashboard",
        "audit" => "Audit log",
        "security" => "Security",
        "replies" => "Canned replies",
        "contacts" => "Contacts",
        _ => "Inbox",
    };
    with_policy(state, AppPage { title: format!("{title} · {}", p.team.name), page: page.into(), boot_json }.into_response())
}

async fn inbox(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "inbox", None, None).await
}

async fn thread(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let id = id.parse::<actors::ids::ThreadId>().ok().map(|t| t.to_string());
    app(&state, &headers, "inbox", id, None).await
}

async fn contacts(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "contacts", None, None).await
}

/// The contacts page with one contact's detail open (a malformed id opens the list alone).
async fn contact(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let id = id.parse::<actors::ids::ContactId>().ok().map(|c| c.to_string());
    app(&state, &headers, "contacts", None, id).await
}

async fn settings(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "settings", None, None).await
}

async fn security(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "security", None, None).await
}

async fn replies(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "replies", None, None).await
}

async fn campaigns(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "campaigns", None, None).await
}

async fn audit(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "audit", None, None).await
}

async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    app(&state, &headers, "dashboard", None, None).await
}
