//! One socket's session: its subscriptions (checked against the channel auth signature),
//! presence membership, and the client events it may relay (rate limited, never echoed).

use super::error::GatewayError;
use crate::AppState;
use actors::hub::ConnRef;
use actors::ids::UserId;
use actors::protocol::{self, ChannelName, ClientFrame, PresenceMember, SubscribeData};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::num::NonZeroU32;

/// Channels one connection may hold: an agent needs a handful; this bounds a misbehaving client.
const MAX_SUBSCRIPTIONS: usize = 200;

/// One connection's own bookkeeping.
pub(super) struct Session {
    state: AppState,
    conn: ConnRef,
    /// Channel → the presence user this socket joined as.
    subscriptions: HashMap<String, Option<UserId>>,
    client_events: DefaultDirectRateLimiter,
}

impl Session {
    pub(super) fn new(state: AppState, conn: ConnRef, events_per_second: NonZeroU32) -> Session {
        Session { state, conn, subscriptions: HashMap::new(), client_events: RateLimiter::direct(Quota::per_second(events_per_second)) }
    }

    /// Tells the client about an error the connection survives.
    pub(super) fn error(&self, error: GatewayError) {
        self.conn.push(Bytes::from(protocol::error_frame(error.code(), &error.to_string())));
    }

    pub(super) fn on_text(&mut self, t: &str) {
        let Ok(frame) = serde_json::from_str::<ClientFrame>(t) else {
            return self.error(GatewayError::BadFrame("malformed frame: expected JSON with an event"));
        };
        match frame.event.as_str() {
            "pusher:ping" => {
                self.conn.push(Bytes::from(protocol::pong()));
            }
            "pusher:pong" => {}
            "pusher:subscribe" => match serde_json::from_value::<SubscribeData>(frame.data) {
                Ok(data) => self.subscribe(data),
                Err(_) => self.error(GatewayError::BadFrame("pusher:subscribe needs data.channel")),
            },
            "pusher:unsubscribe" => {
                if let Some(channel) = frame.data.get("channel").and_then(|c| c.as_str()) {
                    self.unsubscribe(channel);
                }
            }
            e if e.starts_with("client-") => self.client_event(frame),
            _ => self.error(GatewayError::BadFrame("unknown event")),
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
            return self.error(GatewayError::BadFrame("client events need a channel"));
        };
        let Some(user) = self.subscriptions.get(&channel).copied() else {
            return self.error(GatewayError::Unauthorized("subscribe to the channel before triggering client events on it"));
        };
        if self.client_events.check().is_err() {
            return self.error(GatewayError::ClientEventRateLimit);
        }
        let uid = user.map(|u| u.to_string());
        let relayed = protocol::client_event_frame(&frame.event, &channel, &frame.data, uid.as_deref());
        if relayed.len() > 10 * 1024 {
            return self.error(GatewayError::BadFrame("client event too large (10 KB at most)"));
        }
        self.state.core.fanout.publish_frame(channel.clone(), relayed, Some(&self.conn.socket_id));
        if frame.event == actors::domain::event::TYPING
            && let (Some(ChannelName::Thread(thread)), Some(user)) = (ChannelName::parse(&channel), user)
        {
            let typing = frame.data.get("typing").and_then(|t| t.as_bool()).unwrap_or(true);
            self.state.core.threads.typing(thread, user, typing);
        }
    }

    pub(super) fn leave_all(&mut self) {
        let channels: Vec<String> = self.subscriptions.drain().map(|(c, _)| c).collect();
        self.state.core.cluster.disconnect(&self.conn, channels);
    }
}
