//! The WebSocket gateway at `/app/{key}`, speaking the Pusher Channels protocol v7 so pusher-js
//! and the other Pusher clients work unchanged.
//!
//! One task per connection selects over: frames queued for it by the hub, frames from the
//! client, the close signal (slow consumer, shutdown) and the activity timer. Sending to a slow
//! client only stalls that client's own task; fan-out never waits for it.

use crate::AppState;
use crate::error::ApiError;
use actors::hub::{Conn, ConnRef};
use actors::ids::UserId;
use actors::protocol::{self, ChannelName, ClientFrame, PresenceMember, SubscribeData, code};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;
use std::collections::HashMap;
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
/// Channels one connection may hold: an agent needs a handful; this bounds a misbehaving client.
const MAX_SUBSCRIPTIONS: usize = 200;
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
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            if key_ok {
                serve(state, socket).await;
            } else {
                refuse(socket, code::APP_NOT_FOUND, "unknown app key").await;
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

async fn refuse(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket.send(text(protocol::error_frame(code, reason))).await;
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

/// One connection's own bookkeeping.
struct Session {
    state: AppState,
    conn: ConnRef,
    /// Channel → the presence user this socket joined as.
    subscriptions: HashMap<String, Option<UserId>>,
    client_events: DefaultDirectRateLimiter,
}

async fn serve(state: AppState, mut socket: WebSocket) {
    let socket_id = protocol::new_socket_id();
    let (conn, mut rx) = Conn::new(socket_id.clone(), state.config.ws_queue);
    state.core.hub.register(&conn);
    metrics::gauge!("switchboard_ws_connections").increment(1.0);
    let activity = Duration::from_secs(state.config.activity_timeout);
    let rate = NonZeroU32::new(state.config.client_events_per_second.max(1)).expect("max(1)");
    let mut session =
        Session { state, conn: conn.clone(), subscriptions: HashMap::new(), client_events: RateLimiter::direct(Quota::per_second(rate)) };

    let mut close_code = None;
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
                    close_code = conn.close_code();
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
                        close_code = conn.close_code();
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
                        Some(Ok(Message::Binary(_))) => session.error(4000, "binary frames are not part of the protocol"),
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
                        close_code = Some(code::PONG_NOT_RECEIVED);
                        break;
                    }
                }
            }
        }
    }
    if let Some(code) = close_code {
        let reason = match code {
            code::RECONNECT => "server shutting down, reconnect",
            code::OVER_CAPACITY => "too slow to read: reconnect and catch up",
            code::PONG_NOT_RECEIVED => "pong not received",
            _ => "closing",
        };
        // Best effort, bounded: a stuck client must not keep this task alive.
        let goodbye = async {
            socket.send(text(protocol::error_frame(code, reason))).await?;
            socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), goodbye).await;
    }
    session.leave_all();
    metrics::gauge!("switchboard_ws_connections").decrement(1.0);
}

impl Session {
    fn error(&self, code: u16, message: &str) {
        self.conn.push(Bytes::from(protocol::error_frame(code, message)));
    }

    fn on_text(&mut self, t: &str) {
        let Ok(frame) = serde_json::from_str::<ClientFrame>(t) else {
            return self.error(4000, "malformed frame: expected JSON with an event");
        };
        match frame.event.as_str() {
            "pusher:ping" => {
                self.conn.push(Bytes::from(protocol::pong()));
            }
            "pusher:pong" => {}
            "pusher:subscribe" => match serde_json::from_value::<SubscribeData>(frame.data) {
                Ok(data) => self.subscribe(data),
                Err(_) => self.error(4000, "pusher:subscribe needs data.channel"),
            },
            "pusher:unsubscribe" => {
                if let Some(channel) = frame.data.get("channel").and_then(|c| c.as_str()) {
                    self.unsubscribe(channel);
                }
            }
            e if e.starts_with("client-") => self.client_event(frame),
            _ => self.error(4000, "unknown event"),
        }
    }

    fn subscribe(&mut self, data: SubscribeData) {
        let channel_name = data.channel;
        let refuse = |me: &Self, why: &str| me.conn.push(Bytes::from(protocol::subscription_error(&channel_name, 403, why)));
        let Some(channel) = ChannelName::parse(&channel_name) else {
            refuse(self, "unknown channel");
            return;
        };
        let secret = self.state.config.app_secret.expose_secret();
        let ok = data.auth.as_deref().is_some_and(|auth| {
            protocol::verify_channel_auth(
                &self.state.config.app_key,
                secret,
                &self.conn.socket_id,
                &channel_name,
                data.channel_data.as_deref(),
                auth,
            )
        });
        if !ok {
            refuse(self, "invalid channel auth: ask /pusher/auth");
            return;
        }
        let member = match (channel.is_presence(), data.channel_data.as_deref()) {
            (true, Some(cd)) => match serde_json::from_str::<PresenceMember>(cd) {
                Ok(m) => Some(m),
                Err(_) => {
                    refuse(self, "presence channel_data must carry user_id");
                    return;
                }
            },
            (true, None) => {
                refuse(self, "presence channels need channel_data");
                return;
            }
            (false, _) => None,
        };
        let user: Option<UserId> = member.as_ref().and_then(|m| m.user_id.parse().ok());
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS && !self.subscriptions.contains_key(&channel_name) {
            refuse(self, "too many channels on one connection");
            return;
        }
        if self.subscriptions.contains_key(&channel_name) {
            // pusher-js may re-subscribe after a reconnect race: answer again, count once.
            self.state.core.cluster.subscribe(&channel_name, &self.conn, member);
            return;
        }
        self.state.core.cluster.subscribe(&channel_name, &self.conn, member);
        self.subscriptions.insert(channel_name, user);
        if let ChannelName::Thread(thread) = channel {
            self.state.core.threads.viewer_joined(thread, self.conn.clone());
        }
    }

    fn unsubscribe(&mut self, channel: &str) {
        if self.subscriptions.remove(channel).is_some() {
            self.state.core.cluster.unsubscribe(channel, &self.conn.socket_id);
        }
    }

    fn client_event(&mut self, frame: ClientFrame) {
        let Some(channel) = frame.channel else {
            return self.error(4000, "client events need a channel");
        };
        let Some(user) = self.subscriptions.get(&channel).copied() else {
            return self.error(code::UNAUTHORIZED, "subscribe to the channel before triggering client events on it");
        };
        if self.client_events.check().is_err() {
            return self.error(code::CLIENT_EVENT_RATE_LIMIT, "too many client events: at most 10 per second");
        }
        let uid = user.map(|u| u.to_string());
        let relayed = protocol::client_event_frame(&frame.event, &channel, &frame.data, uid.as_deref());
        if relayed.len() > 10 * 1024 {
            return self.error(4000, "client event too large (10 KB at most)");
        }
        self.state.core.fanout.publish_frame(channel.clone(), relayed, Some(&self.conn.socket_id));
        if frame.event == actors::domain::event::TYPING
            && let (Some(ChannelName::Thread(thread)), Some(user)) = (ChannelName::parse(&channel), user)
        {
            let typing = frame.data.get("typing").and_then(|t| t.as_bool()).unwrap_or(true);
            self.state.core.threads.typing(thread, user, typing);
        }
    }

    fn leave_all(&mut self) {
        let channels: Vec<String> = self.subscriptions.drain().map(|(c, _)| c).collect();
        self.state.core.cluster.disconnect(&self.conn, channels);
    }
}
