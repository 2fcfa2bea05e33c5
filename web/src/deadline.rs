//! The request deadline: a handler that has not answered within the limit (a body dribbled in
//! too slowly, a store that hangs) is dropped and the client gets 408 with our JSON error, like
//! every other answer. tower-http's `TimeoutLayer` does the same with an empty body. Dropping the
//! handler's future stores nothing it had not committed: commands reach the actors only once
//! their body is whole.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Answers 408 `request_timeout` when `next` takes longer than `limit`.
pub async fn within(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "the request took too long to arrive or to answer")
            .into_response(),
    }
}
