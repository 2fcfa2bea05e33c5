//! The connection hub: which local socket is subscribed to which channel, presence membership,
//! and the fan-out loop.
//!
//! Fan-out never awaits: every connection owns a bounded queue and a frame is pushed with
//! `try_send`. A connection whose queue is full is closed (Pusher code 4100) instead of slowing
//! the actor or the other subscribers; its client reconnects and catches up by seq.

use crate::protocol::{self, PresenceMember};
use bytes::Bytes;
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One local WebSocket connection, as the hub sees it.
#[derive(Debug)]
pub struct Conn {
    pub socket_id: Arc<str>,
    tx: mpsc::Sender<Bytes>,
    close: CancellationToken,
    close_code: AtomicU16,
}

/// A shared handle to a connection.
pub type ConnRef = Arc<Conn>;

impl Conn {
    /// A connection with an outbound queue of `capacity` frames; the receiver goes to the
    /// socket's writer task.
    pub fn new(socket_id: String, capacity: usize) -> (ConnRef, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(capacity);
        let conn = Conn { socket_id: socket_id.into(), tx, close: CancellationToken::new(), close_code: AtomicU16::new(0) };
        (Arc::new(conn), rx)
    }

    /// Queues a frame; a full queue closes the connection. Returns whether it was queued.
    pub fn push(&self, frame: Bytes) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics_slow_consumer();
                self.close_with(protocol::code::OVER_CAPACITY);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the socket to close with `code` (the first code asked for wins).
    pub fn close_with(&self, code: u16) {
        let _ = self.close_code.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
        self.close.cancel();
    }

    /// Resolves once someone asked this connection to close.
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.close.cancelled()
    }

    /// The close code asked for, if any.
    pub fn close_code(&self) -> Option<u16> {
        match self.close_code.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }
}

fn metrics_slow_consumer() {
    tracing::debug!("closing a slow consumer");
}

#[derive(Default)]
struct ChannelState {
    subscribers: HashMap<Arc<str>, Subscriber>,
    /// Presence: user id → their info and how many of their connections are here.
    members: HashMap<String, (serde_json::Value, u32)>,
}

struct Subscriber {
    conn: ConnRef,
    user_id: Option<String>,
}

/// What a subscription found.
pub struct Subscribed {
    /// The members after joining (presence channels only).
    pub members: Option<Vec<PresenceMember>>,
}

/// All local subscriptions of this node.
#[derive(Default)]
pub struct Hub {
    channels: DashMap<String, ChannelState>,
    conns: DashMap<Arc<str>, ConnRef>,
}

impl Hub {
    /// Tracks a new connection (so shutdown can reach it).
    pub fn register(&self, conn: &ConnRef) {
        self.conns.insert(conn.socket_id.clone(), conn.clone());
    }

    /// Forgets a closed connection and leaves its channels.
    pub fn unregister(&self, conn: &ConnRef, channels: impl IntoIterator<Item = String>) {
        for channel in channels {
            self.unsubscribe(&channel, &conn.socket_id);
        }
        self.conns.remove(&conn.socket_id);
    }

    /// How many sockets this node holds.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Closes every connection with `code` (shutdown uses 4200: reconnect now).
    pub fn close_all(&self, code: u16) {
        for conn in self.conns.iter() {
            conn.close_with(code);
        }
    }

    /// Subscribes `conn` and sends it `subscription_succeeded`. On a presence channel, the
    /// others hear `member_added` only on this user's first connection. The channel's lock is
    /// held across both so no member event can slip between the snapshot and the join.
    pub fn subscribe(&self, channel: &str, conn: &ConnRef, member: Option<PresenceMember>) -> Subscribed {
        let mut state = self.channels.entry(channel.to_owned()).or_default();
        let user_id = member.as_ref().map(|m| m.user_id.clone());
        let previous = state.subscribers.insert(conn.socket_id.clone(), Subscriber { conn: conn.clone(), user_id: user_id.clone() });
        let mut first = false;
        if let Some(member) = &member {
            // A re-subscribe of the same socket does not count twice.
            if previous.is_none() {
                let entry = state.members.entry(member.user_id.clone()).or_insert_with(|| (member.user_info.clone(), 0));
                entry.1 += 1;
                first = entry.1 == 1;
            }
        }
        let members = member.as_ref().map(|_| {
            let mut list: Vec<PresenceMember> =
                state.members.iter().map(|(id, (info, _))| PresenceMember { user_id: id.clone(), user_info: info.clone() }).collect();
            list.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            list
        });
        conn.push(Bytes::from(protocol::subscription_succeeded(channel, members.as_deref())));
        if first {
            let frame = Bytes::from(protocol::member_added(channel, member.as_ref().expect("first implies member")));
            Self::send_all(&state, frame, Some(&conn.socket_id));
        }
        Subscribed { members }
    }

    /// Unsubscribes a socket. On a presence channel the others hear `member_removed` only when
    /// the user's last connection leaves.
    pub fn unsubscribe(&self, channel: &str, socket_id: &str) {
        let Some(mut state) = self.channels.get_mut(channel) else {
            return;
        };
        let Some(sub) = state.subscribers.remove(socket_id) else {
            return;
        };
        if let Some(uid) = sub.user_id {
            let last = match state.members.get_mut(&uid) {
                Some(entry) => {
                    entry.1 = entry.1.saturating_sub(1);
                    entry.1 == 0
                }
                None => false,
            };
            if last {
                state.members.remove(&uid);
                Self::send_all(&state, Bytes::from(protocol::member_removed(channel, &uid)), None);
            }
        }
        let empty = state.subscribers.is_empty();
        drop(state);
        if empty {
            self.channels.remove_if(channel, |_, s| s.subscribers.is_empty());
        }
    }

    /// Whether `socket_id` is subscribed to `channel`, and as which presence user.
    pub fn subscription(&self, channel: &str, socket_id: &str) -> Option<Option<String>> {
        self.channels.get(channel)?.subscribers.get(socket_id).map(|s| s.user_id.clone())
    }

    /// Pushes the same bytes to every subscriber of `channel` but `except`; returns how many
    /// got it.
    pub fn broadcast(&self, channel: &str, frame: Bytes, except: Option<&str>) -> usize {
        match self.channels.get(channel) {
            Some(state) => Self::send_all(&state, frame, except),
            None => 0,
        }
    }

    /// The user ids present on a channel on this node.
    pub fn members(&self, channel: &str) -> Vec<String> {
        self.channels.get(channel).map(|s| s.members.keys().cloned().collect()).unwrap_or_default()
    }

    fn send_all(state: &ChannelState, frame: Bytes, except: Option<&str>) -> usize {
        let mut sent = 0;
        for (socket_id, sub) in &state.subscribers {
            if except == Some(&**socket_id) {
                continue;
            }
            // `Bytes::clone` is a reference-count bump: the frame was serialized once.
            if sub.conn.push(frame.clone()) {
                sent += 1;
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(id: &str) -> Option<PresenceMember> {
        Some(PresenceMember { user_id: id.into(), user_info: json!({"name": id}) })
    }

    fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<String> {
        let mut out = vec![];
        while let Ok(b) = rx.try_recv() {
            out.push(String::from_utf8(b.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn member_events_count_connections_not_sockets() {
        let hub = Hub::default();
        let (b, mut rx_b) = Conn::new("1.1".into(), 16);
        let (a1, _rx1) = Conn::new("2.1".into(), 16);
        let (a2, _rx2) = Conn::new("2.2".into(), 16);
        hub.subscribe("presence-x", &b, member("b"));
        drain(&mut rx_b);
        hub.subscribe("presence-x", &a1, member("a"));
        hub.subscribe("presence-x", &a2, member("a"));
        let got = drain(&mut rx_b);
        assert_eq!(got.iter().filter(|f| f.contains("member_added")).count(), 1);
        hub.unsubscribe("presence-x", "2.1");
        assert!(drain(&mut rx_b).is_empty(), "one tab left: no member_removed");
        hub.unsubscribe("presence-x", "2.2");
        let got = drain(&mut rx_b);
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("member_removed"));
    }

    #[test]
    fn a_full_queue_closes_only_that_connection() {
        let hub = Hub::default();
        let (slow, _rx_slow) = Conn::new("1.1".into(), 2);
        let (fast, mut rx_fast) = Conn::new("2.2".into(), 64);
        hub.subscribe("private-x", &slow, None);
        hub.subscribe("private-x", &fast, None);
        for _ in 0..10 {
            hub.broadcast("private-x", Bytes::from_static(b"{}"), None);
            drain(&mut rx_fast);
        }
        assert_eq!(slow.close_code(), Some(protocol::code::OVER_CAPACITY));
        assert_eq!(fast.close_code(), None);
    }
}
