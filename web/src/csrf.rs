//! Cross-site request forgery: a state-changing request that a browser sends with our session
//! cookie must come from one of our own pages. Browsers name the page's origin in `Origin` (or,
//! failing that, `Referer`) on every cross-site POST, so a request whose origin is not ours is
//! refused with 403, whatever its content type (SameSite=Lax alone lets top-level form posts
//! and body-less requests through). Requests with a Bearer token carry no ambient credential
//! and are exempt, as are Twilio's webhooks (signed, cookie-less). A request with neither
//! header comes from a program, not a page, and is let through.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::SESSION_COOKIE;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses cookie-authenticated state changes from origins we do not serve.
pub async fn same_origin_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if needs_check(req.method(), req.uri().path(), req.headers()) && !from_our_origin(req.headers(), &state.config.allowed_origins) {
        metrics::counter!("switchboard_csrf_refused_total").increment(1);
        return ApiError::forbidden("cross-site request refused: this origin may not act for a signed-in user").into_response();
    }
    next.run(req).await
}

fn needs_check(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer "));
    let has_session = axum_extra::extract::CookieJar::from_headers(headers).get(SESSION_COOKIE).is_some();
    changes_state && !bearer && has_session && !path.starts_with("/webhooks/")
}

fn from_our_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let named = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match named {
        None => true,
        Some(value) => match url::Url::parse(value) {
            Ok(u) => {
                let origin = u.origin().ascii_serialization();
                allowed.iter().any(|a| a.trim_end_matches('/') == origin)
            }
            // `Origin: null` (a sandboxed page, a privacy redirect) is not ours.
            Err(_) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_cookie_authenticated_state_changes_are_checked() {
        let cookie = format!("{SESSION_COOKIE}=abc");
        assert!(needs_check(&Method::POST, "/api/messages", &headers(&[("cookie", &cookie)])));
        assert!(!needs_check(&Method::GET, "/api/threads", &headers(&[("cookie", &cookie)])));
        assert!(!needs_check(&Method::POST, "/api/messages", &headers(&[("cookie", &cookie), ("authorization", "Bearer x")])));
        assert!(!needs_check(&Method::POST, "/webhooks/twilio/messages", &headers(&[("cookie", &cookie)])));
        assert!(!needs_check(&Method::POST, "/api/auth/sign-in", &headers(&[])));
    }

    #[test]
    fn the_origin_must_be_ours() {
        let ours = vec!["https://inbox.example.com".to_owned()];
        assert!(from_our_origin(&headers(&[("origin", "https://inbox.example.com")]), &ours));
        assert!(from_our_origin(&headers(&[("referer", "https://inbox.example.com/threads/1")]), &ours));
        assert!(!from_our_origin(&headers(&[("origin", "https://evil.example")]), &ours));
        assert!(!from_our_origin(&headers(&[("origin", "null")]), &ours));
        assert!(!from_our_origin(&headers(&[("origin", "https://inbox.example.com.evil.example")]), &ours));
        assert!(from_our_origin(&headers(&[]), &ours), "a program, not a page");
    }
}
