//! The realtime wire protocol: Pusher Channels v7 frames, channel names and auth signatures.
//! Kept apart from the domain types so the JSON on the socket is decided in one place.

use crate::ids::{TeamId, ThreadId, UserId};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

/// Pusher error and close codes.
pub mod code {
    /// Unknown app key.
    pub const APP_NOT_FOUND: u16 = 4001;
    /// Unsupported protocol version.
    pub const UNSUPPORTED_PROTOCOL: u16 = 4007;
    /// Not authorized for a channel.
    pub const UNAUTHORIZED: u16 = 4009;
    /// Over capacity: also used for a connection whose outbound queue overflowed (it reconnects
    /// after a back-off and catches up by seq).
    pub const OVER_CAPACITY: u16 = 4100;
    /// Reconnect now: the server is shutting down.
    pub const RECONNECT: u16 = 4200;
    /// The client did not answer our ping.
    pub const PONG_NOT_RECEIVED: u16 = 4201;
    /// Closed for inactivity.
    pub const INACTIVITY: u16 = 4202;
    /// Too many client events.
    pub const CLIENT_EVENT_RATE_LIMIT: u16 = 4301;
}

/// A channel the server knows how to authorize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelName {
    /// `presence-team-{team_id}`: team presence and inbox-level events.
    Team(TeamId),
    /// `presence-thread-{thread_id}`: viewers, thread events, typing.
    Thread(ThreadId),
    /// `private-user-{user_id}`: one user's tabs and devices.
    User(UserId),
}

impl ChannelName {
    /// Parses one of our channel names; anything else is `None` (and refused).
    pub fn parse(name: &str) -> Option<ChannelName> {
        if let Some(id) = name.strip_prefix("presence-team-") {
            return id.parse().ok().map(ChannelName::Team);
        }
        if let Some(id) = name.strip_prefix("presence-thread-") {
            return id.parse().ok().map(ChannelName::Thread);
        }
        if let Some(id) = name.strip_prefix("private-user-") {
            return id.parse().ok().map(ChannelName::User);
        }
        None
    }

    /// Presence channels carry members.
    pub fn is_presence(self) -> bool {
        !matches!(self, ChannelName::User(_))
    }
}

impl std::fmt::Display for ChannelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelName::Team(id) => write!(f, "presence-team-{id}"),
            ChannelName::Thread(id) => write!(f, "presence-thread-{id}"),
            ChannelName::User(id) => write!(f, "private-user-{id}"),
        }
    }
}

/// A frame a client sends.
#[derive(Debug, Deserialize)]
pub struct ClientFrame {
    pub event: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// `pusher:subscribe` data.
#[derive(Debug, Deserialize)]
pub struct SubscribeData {
    pub channel: String,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub channel_data: Option<String>,
}

/// Presence `channel_data`: who the member is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PresenceMember {
    pub user_id: String,
    #[serde(default)]
    pub user_info: Value,
}

/// A server event frame: `data` is a JSON-encoded string, as pusher-js expects.
pub fn event_frame(event: &str, channel: &str, data: &impl Serialize) -> String {
    // Written by hand rather than through a `Value`: this runs once per event on the hot path,
    // and the data string is escaped exactly once.
    let data = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let data = quoted(&data);
    let mut out = String::with_capacity(data.len() + event.len() + channel.len() + 40);
    out.push_str("{\"event\":");
    out.push_str(&quoted(event));
    out.push_str(",\"channel\":");
    out.push_str(&quoted(channel));
    out.push_str(",\"data\":");
    out.push_str(&data);
    out.push('}');
    out
}

/// A client event relayed to the others on a channel (`user_id` added on presence channels).
pub fn client_event_frame(event: &str, channel: &str, data: &Value, user_id: Option<&str>) -> String {
    // Identity is the server's to say: a `user_id` the sender put in its data is replaced by the
    // one it subscribed as (or dropped), so nobody can type, or speak, as a teammate.
    let mut data = data.clone();
    if let Value::Object(fields) = &mut data {
        match user_id {
            Some(uid) => {
                fields.insert("user_id".into(), Value::String(uid.to_owned()));
            }
            None => {
                fields.remove("user_id");
            }
        }
    }
    let mut frame = json!({ "event": event, "channel": channel, "data": data });
    if let Some(uid) = user_id {
        frame["user_id"] = Value::String(uid.to_owned());
    }
    frame.to_string()
}

/// `pusher:connection_established`.
pub fn connection_established(socket_id: &str, activity_timeout: u64) -> String {
    let data = json!({ "socket_id": socket_id, "activity_timeout": activity_timeout }).to_string();
    json!({ "event": "pusher:connection_established", "data": data }).to_string()
}

/// `pusher:error`.
pub fn error_frame(code: u16, message: &str) -> String {
    json!({ "event": "pusher:error", "data": { "code": code, "message": message } }).to_string()
}

/// `pusher:subscription_error`.
pub fn subscription_error(channel: &str, status: u16, message: &str) -> String {
    json!({
        "event": "pusher:subscription_error",
        "channel": channel,
        "data": { "type": "AuthError", "error": message, "status": status }
    })
    .to_string()
}

/// `pusher:pong`.
pub fn pong() -> String {
    json!({ "event": "pusher:pong", "data": {} }).to_string()
}

/// `pusher:ping`.
pub fn ping() -> String {
    json!({ "event": "pusher:ping", "data": {} }).to_string()
}

/// `pusher_internal:subscription_succeeded`, with the member list on presence channels.
pub fn subscription_succeeded(channel: &str, members: Option<&[PresenceMember]>) -> String {
    let data = match members {
        None => "{}".to_owned(),
        Some(members) => {
            let ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
            let hash: serde_json::Map<String, Value> = members.iter().map(|m| (m.user_id.clone(), m.user_info.clone())).collect();
            json!({ "presence": { "ids": ids, "hash": hash, "count": members.len() } }).to_string()
        }
    };
    json!({ "event": "pusher_internal:subscription_succeeded", "channel": channel, "data": data }).to_string()
}

/// `pusher_internal:member_added`.
pub fn member_added(channel: &str, member: &PresenceMember) -> String {
    let data = serde_json::to_string(member).unwrap_or_default();
    json!({ "event": "pusher_internal:member_added", "channel": channel, "data": data }).to_string()
}

/// `pusher_internal:member_removed`.
pub fn member_removed(channel: &str, user_id: &str) -> String {
    let data = json!({ "user_id": user_id }).to_string();
    json!({ "event": "pusher_internal:member_removed", "channel": channel, "data": data }).to_string()
}

/// A fresh socket id: two random integers, as Pusher formats them.
pub fn new_socket_id() -> String {
    let a: u32 = rand::random::<u32>() % 1_000_000_000;
    let b: u32 = rand::random::<u32>() % 1_000_000_000;
    format!("{a}.{b}")
}

/// Whether a socket id has Pusher's shape (`digits.digits`).
pub fn is_valid_socket_id(s: &str) -> bool {
    let mut parts = s.split('.');
    let ok = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The string a channel auth signs: `socket_id:channel[:channel_data]`.
pub fn string_to_sign(socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// Hex HMAC-SHA256 of `message` under `secret`.
pub fn sign(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `auth` value a client presents: `key:signature`.
pub fn channel_auth(key: &str, secret: &str, socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    format!("{key}:{}", sign(secret, &string_to_sign(socket_id, channel, channel_data)))
}

/// Checks a client's `auth` for a subscription, in constant time.
pub fn verify_channel_auth(key: &str, secret: &str, socket_id: &str, channel: &str, channel_data: Option<&str>, auth: &str) -> bool {
    let Some((auth_key, sig)) = auth.split_once(':') else {
        return false;
    };
    if auth_key != key {
        return false;
    }
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(socket_id, channel, channel_data).as_bytes());
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        let t = ThreadId::new();
        let name = ChannelName::Thread(t).to_string();
        assert_eq!(ChannelName::parse(&name), Some(ChannelName::Thread(t)));
        assert_eq!(ChannelName::parse("presence-thread-nope"), None);
        assert_eq!(ChannelName::parse("public"), None);
    }

    #[test]
    fn event_frames_carry_data_as_a_json_string() {
        let frame = event_frame("message.created", "presence-thread-x", &json!({ "body": "a \"quote\" </script>" }));
        let parsed: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(parsed["event"], "message.created");
        assert_eq!(parsed["channel"], "presence-thread-x");
        let data: Value = serde_json::from_str(parsed["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["body"], "a \"quote\" </script>");
    }

    #[test]
    fn client_events_carry_the_senders_identity_not_a_claimed_one() {
        let spoof = json!({ "typing": true, "user_id": "someone-else" });
        let frame: Value = serde_json::from_str(&client_event_frame("client-typing", "presence-x", &spoof, Some("me"))).unwrap();
        assert_eq!(frame["user_id"], "me");
        assert_eq!(frame["data"]["user_id"], "me");
        let frame: Value = serde_json::from_str(&client_event_frame("client-x", "private-x", &spoof, None)).unwrap();
        assert!(frame["data"].get("user_id").is_none());
        assert!(frame.get("user_id").is_none());
    }

    #[test]
    fn socket_ids() {
        assert!(is_valid_socket_id(&new_socket_id()));
        assert!(!is_valid_socket_id("1.2.3"));
        assert!(!is_valid_socket_id("a.1"));
        assert!(!is_valid_socket_id(".1"));
    }

    #[test]
    fn official_channel_auth_vectors() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/pusher_auth.json"))
            .expect("tests/vectors/pusher_auth.json");
        let vectors: Value = serde_json::from_str(&text).unwrap();
        let cases = vectors["channel_auth"].as_array().unwrap();
        assert!(cases.len() >= 6);
        for case in cases {
            let secret = case["secret"].as_str().unwrap();
            let socket_id = case["socket_id"].as_str().unwrap();
            let expected = case["signature"].as_str().unwrap();
            let message = if let Some(user_data) = case["user_data"].as_str() {
                format!("{socket_id}::user::{user_data}")
            } else {
                let channel = case["channel"].as_str().unwrap();
                string_to_sign(socket_id, channel, case["channel_data"].as_str())
            };
            if let Some(sts) = case["string_to_sign"].as_str() {
                assert_eq!(message, sts);
            }
            assert_eq!(sign(secret, &message), expected, "vector {case}");
            if let (Some(key), Some(channel)) = (case["key"].as_str(), case["channel"].as_str()) {
                let auth = channel_auth(key, secret, socket_id, channel, case["channel_data"].as_str());
                assert_eq!(auth, format!("{key}:{expected}"));
                assert!(verify_channel_auth(key, secret, socket_id, channel, case["channel_data"].as_str(), &auth));
                assert!(!verify_channel_auth(key, secret, "1.2", channel, case["channel_data"].as_str(), &auth));
            }
        }
    }
}
