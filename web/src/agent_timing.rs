//! Times every agent-facing API request for the core's `AgentLoad`, so work that should yield
//! to agents (campaigns) sees when their requests slow down. Only `/api` routes: webhooks, the
//! socket and pages are not an agent waiting on a click (uploads are slow by nature and are
//! left out too).

use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The layer's function: runs the request, records how long its answer took.
/// (The probes share the API's routes but are not agents: `/healthz`, `/readyz`, `/metrics`.)
pub async fn timed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let started = Instant::now();
    let response = next.run(req).await;
    state.core.agent_load.record(started.elapsed());
    response
}
