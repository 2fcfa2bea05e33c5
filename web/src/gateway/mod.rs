//! The WebSocket gateway at `/app/{key}`, speaking the Pusher Channels protocol v7 so pusher-js
//! and the other Pusher clients work unchanged.
//!
//! One task per connection selects over: frames queued for it by the hub, frames from the
//! client, the close signal (slow consumer, shutdown) and the activity timer. Sending to a slow
//! client only stalls that client's own task; fan-out never waits for it.

mod error;
mod session;

pub use error::{GatewayError, Reconnect};
use session::Session;

use crate::AppState;
use crate::error::ApiError;
use actors::hub::Conn;
use actors::protocol;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::SinkExt;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// The gateway route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/app/{key}", get(upgrade))
}

/// How long a client has to answer our ping (pusher-js waits 30 s for ours); never longer than
/// the activity timeout itself.
const PONG_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest client frame we accept (Pusher's own limit for client events is 10 KB).
const MAX_CLIENT_FRAME: usize = 16 * 1024;

async fn upgrade(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    // Browsers always send Origin: refuse pages we do not serve. Programs send none, and still
    // need channel auth for everything.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !state.config.allowed_origins.iter().any(|a| a == origin)
    {
        return ApiError::forbidden("this origin may not open a socket").into_response();
    }
    let key_ok = key == state.config.app_key;
    // An idle connection holds its read buffer: start small (`WS_READ_BUFFER`); a larger
    // frame grows it to its size.
    ws.read_buffer_size(state.config.ws_read_buffer)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            if key_ok {
                serve(state, socket).await;
            } else {
                refuse(socket, GatewayError::UnknownAppKey).await;
            }
        })
}

/// The most queued frames written before one flush.
const WRITE_BATCH: usize = 64;

/// Writes `first` and whatever else is already queued, then flushes once: a burst costs one
/// write per wakeup instead of one per frame.
async fn write_batch(socket: &mut WebSocket, rx: &mut tokio::sync::mpsc::Receiver<Bytes>, first: Bytes) -> Result<(), axum::Error> {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(frame) = next.take() {
        // Frames are built from `String`s, so this never fails; a bad one is skipped, not sent.
        if let Ok(text) = Utf8Bytes::try_from(frame) {
            socket.feed(Message::Text(text)).await?;
        }
        written += 1;
        if written < WRITE_BATCH {
            next = rx.try_recv().ok();
        }
    }
    socket.flush().await
}

async fn refuse(mut socket: WebSocket, error: GatewayError) {
    let (code, reason) = (error.code(), error.to_string());
    let _ = socket.send(text(protocol::error_frame(code, &reason))).await;
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

async fn serve(state: AppState, mut socket: WebSocket) {
    let socket_id = protocol::new_socket_id();
    let (conn, mut rx) = Conn::new(socket_id.clone(), state.config.ws_queue);
    state.core.hub.register(&conn);
    metrics::gauge!("switchboard_ws_connections").increment(1.0);
    let activity = Duration::from_secs(state.config.activity_timeout);
    let rate = NonZeroU32::new(state.config.client_events_per_second.max(1)).expect("max(1)");
    let mut session = Session::new(state, conn.clone(), rate);

    let mut closing: Option<GatewayError> = None;
    if socket.send(text(protocol::connection_established(&socket_id, activity.as_secs()))).await.is_ok() {
        let mut last_seen = Instant::now();
        let mut ping_sent: Option<Instant> = None;
        loop {
            let deadline = match ping_sent {
                None => last_seen + activity,
                Some(at) => at + PONG_TIMEOUT.min(activity),
            };
            tokio::select! {
                biased;
                _ = conn.closed() => {
                    closing = conn.close_code().map(GatewayError::from_close_code);
                    break;
                }
                frame = rx.recv() => {
                    let Some(frame) = frame else { break };
                    // A client that stops reading blocks these writes once its TCP buffers fill;
                    // when its queue then overflows the hub closes it, and we stop waiting.
                    let sent = tokio::select! {
                        r = write_batch(&mut socket, &mut rx, frame) => r.is_ok(),
                        _ = conn.closed() => false,
                    };
                    if !sent {
                        closing = conn.close_code().map(GatewayError::from_close_code);
                        break;
                    }
                }
                incoming = socket.recv() => {
                    match incoming {
                        Some(Ok(Message::Text(t))) => {
                            last_seen = Instant::now();
                            ping_sent = None;
                            session.on_text(&t);
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            last_seen = Instant::now();
                            ping_sent = None;
                        }
                        Some(Ok(Message::Binary(_))) => session.error(GatewayError::BadFrame("binary frames are not part of the protocol")),
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    }
                }
                _ = sleep_until(deadline) => {
                    if ping_sent.is_none() {
                        ping_sent = Some(Instant::now());
                        if socket.send(text(protocol::ping())).await.is_err() {
                            break;
                        }
                    } else {
                        closing = Some(GatewayError::PongNotReceived);
                        break;
                    }
                }
            }
        }
    }
    if let Some(error) = closing {
        let (code, reason) = (error.code(), error.to_string());
        if error == GatewayError::SlowConsumer {
            metrics::counter!("switchboard_slow_consumer_closes_total").increment(1);
        }
        // Best effort, bounded (a stuck client must not keep this task alive): the goodbye
        // cannot pass a full socket buffer, and after 2 s we stop trying.
        let goodbye = async {
            socket.send(text(protocol::error_frame(code, &reason))).await?;
            socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), goodbye).await;
    }
    session.leave_all();
    metrics::gauge!("switchboard_ws_connections").decrement(1.0);
}
