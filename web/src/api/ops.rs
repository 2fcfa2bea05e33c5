//! Health, readiness and Prometheus metrics.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when every dependency answers, 503 naming the ones that do not.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let checks = state.probe.check().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let body: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, r)| {
            (
                name.to_owned(),
                match r {
                    Ok(()) => json!("ok"),
                    Err(e) => json!(e),
                },
            )
        })
        .collect();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({ "ready": ok, "checks": body }))).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!("switchboard_connections").set(state.core.hub.connection_count() as f64);
    metrics::gauge!("switchboard_live_threads").set(state.core.threads.live() as f64);
    match &state.metrics {
        Some(render) => ([("content-type", "text/plain; version=0.0.4")], render()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
