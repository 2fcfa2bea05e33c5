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
    /// Presence on this node: user id → their info and how many of their connections are here.
    local: HashMap<String, (serde_json::Value, u32)>,
    /// Presence on other nodes: user id → node → info (as the bus told us).
    remote: HashMap<String, HashMap<String, serde_json::Value>>,
}

impl ChannelState {
    /// Whether the user is on this channel anywhere in the cluster.
    fn present(&self, user: &str) -> bool {
        self.local.contains_key(user) || self.remote.get(user).is_some_and(|nodes| !nodes.is_empty())
    }

    /// Every member in the cluster, by user id.
    fn members(&self) -> Vec<PresenceMember> {
        let mut list: Vec<PresenceMember> =
            self.local.iter().map(|(id, (info, _))| PresenceMember { user_id: id.clone(), user_info: info.clone() }).collect();
        for (id, nodes) in &self.remote {
            if !self.local.contains_key(id)
                && let Some(info) = nodes.values().next()
            {
                list.push(PresenceMember { user_id: id.clone(), user_info: info.clone() });
            }
        }
        list.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        list
    }

    fn is_unused(&self) -> bool {
        self.subscribers.is_empty() && self.remote.is_empty()
    }
}

struct Subscriber {
    conn: ConnRef,
    user_id: Option<String>,
}

/// What a subscription found.
pub struct Subscribed {
    /// The members after joining (presence channels only), cluster-wide.
    pub members: Option<Vec<PresenceMember>>,
}

/// A change of this node's presence that the other nodes must hear: a user's first local
/// connection to a channel opened (`joined`), or their last one closed.
#[derive(Clone, Debug)]
pub struct PresenceChange {
    pub channel: String,
    pub member: PresenceMember,
    pub joined: bool,
}

/// What a socket's channels were authorized with.
struct Binding {
    credential: String,
    user: String,
}

/// All local subscriptions of this node, and what it knows of the other nodes' presence.
#[derive(Default)]
pub struct Hub {
    channels: DashMap<String, ChannelState>,
    conns: DashMap<Arc<str>, ConnRef>,
    /// The credential (session or token) each local socket's channels were authorized with, and
    /// the user it acts as, so revoking the credential (or all of a user's access) can close its
    /// sockets.
    credentials: DashMap<Arc<str>, Binding>,
}

impl Hub {
    /// Tracks a new connection (so shutdown can reach it).
    pub fn register(&self, conn: &ConnRef) {
        self.conns.insert(conn.socket_id.clone(), conn.clone());
    }

    /// Forgets a closed connection and leaves its channels.
    pub fn unregister(&self, conn: &ConnRef, channels: impl IntoIterator<Item = String>) -> Vec<PresenceChange> {
        let changes = channels.into_iter().filter_map(|channel| self.unsubscribe(&channel, &conn.socket_id)).collect();
        self.conns.remove(&conn.socket_id);
        self.credentials.remove(&conn.socket_id);
        changes
    }

    /// Notes that `socket_id` was authorized with `credential` as `user` (its key, `u:<id>`);
    /// `false` when the socket is not on this node.
    pub fn bind_credential(&self, socket_id: &str, credential: &str, user: &str) -> bool {
        match self.conns.get(socket_id) {
            Some(conn) => {
                self.credentials.insert(conn.socket_id.clone(), Binding { credential: credential.to_owned(), user: user.to_owned() });
                true
            }
            None => false,
        }
    }

    /// Closes with `code` every local socket authorized with `key`: a credential (it was
    /// revoked) or a user's key (their access changed).
    pub fn close_credential(&self, key: &str, code: u16) -> usize {
        let ids: Vec<Arc<str>> =
            self.credentials.iter().filter(|e| e.value().credential == key || e.value().user == key).map(|e| e.key().clone()).collect();
        let mut closed = 0;
        for id in ids {
            if let Some(conn) = self.conns.get(&id) {
                conn.close_with(code);
                closed += 1;
            }
        }
        closed
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
    /// others hear `member_added` only when this user was on the channel nowhere in the cluster.
    /// The channel's lock is held throughout, so no member event slips between the snapshot and
    /// the join.
    pub fn subscribe(&self, channel: &str, conn: &ConnRef, member: Option<PresenceMember>) -> (Subscribed, Option<PresenceChange>) {
        let mut state = self.channels.entry(channel.to_owned()).or_default();
        let user_id = member.as_ref().map(|m| m.user_id.clone());
        let previous = state.subscribers.insert(conn.socket_id.clone(), Subscriber { conn: conn.clone(), user_id: user_id.clone() });
        let mut change = None;
        let mut announce = false;
        if let Some(member) = &member
            // A re-subscribe of the same socket does not count twice.
            && previous.is_none()
        {
            let was_present = state.present(&member.user_id);
            let entry = state.local.entry(member.user_id.clone()).or_insert_with(|| (member.user_info.clone(), 0));
            entry.1 += 1;
            if entry.1 == 1 {
                change = Some(PresenceChange { channel: channel.to_owned(), member: member.clone(), joined: true });
                announce = !was_present;
            }
        }
        let members = member.as_ref().map(|_| state.members());
        conn.push(Bytes::from(protocol::subscription_succeeded(channel, members.as_deref())));
        if announce {
            let frame = Bytes::from(protocol::member_added(channel, member.as_ref().expect("announce implies member")));
            Self::send_all(&state, frame, Some(&conn.socket_id));
        }
        (Subscribed { members }, change)
    }

    /// Unsubscribes a socket. On a presence channel the others hear `member_removed` only when
    /// the user is then on the channel nowhere in the cluster.
    pub fn unsubscribe(&self, channel: &str, socket_id: &str) -> Option<PresenceChange> {
        let mut state = self.channels.get_mut(channel)?;
        let sub = state.subscribers.remove(socket_id)?;
        let mut change = None;
        if let Some(uid) = sub.user_id {
            let last = match state.local.get_mut(&uid) {
                Some(entry) => {
                    entry.1 = entry.1.saturating_sub(1);
                    entry.1 == 0
                }
                None => false,
            };
            if last {
                let (info, _) = state.local.remove(&uid).expect("present above");
                if !state.present(&uid) {
                    Self::send_all(&state, Bytes::from(protocol::member_removed(channel, &uid)), None);
                }
                change = Some(PresenceChange {
                    channel: channel.to_owned(),
                    member: PresenceMember { user_id: uid, user_info: info },
                    joined: false,
                });
            }
        }
        let unused = state.is_unused();
        drop(state);
        if unused {
            self.channels.remove_if(channel, |_, s| s.is_unused());
        }
        change
    }

    /// Another node's presence changed (from the bus).
    pub fn remote_presence(&self, node: &str, channel: &str, member: PresenceMember, joined: bool) {
        let mut state = self.channels.entry(channel.to_owned()).or_default();
        let was_present = state.present(&member.user_id);
        if joined {
            state.remote.entry(member.user_id.clone()).or_default().insert(node.to_owned(), member.user_info.clone());
            if !was_present {
                Self::send_all(&state, Bytes::from(protocol::member_added(channel, &member)), None);
            }
        } else {
            if let Some(nodes) = state.remote.get_mut(&member.user_id) {
                nodes.remove(node);
                if nodes.is_empty() {
                    state.remote.remove(&member.user_id);
                }
            }
            if was_present && !state.present(&member.user_id) {
                Self::send_all(&state, Bytes::from(protocol::member_removed(channel, &member.user_id)), None);
            }
        }
        let unused = state.is_unused();
        drop(state);
        if unused {
            self.channels.remove_if(channel, |_, s| s.is_unused());
        }
    }

    /// A node left (shut down or went silent): its members leave every channel.
    pub fn drop_node(&self, node: &str) {
        self.replace_node(node, Vec::new());
    }

    /// A node's full list of members (its snapshot) replaces what we knew of it: members it no
    /// longer has leave, new ones join. Deltas lost while the bus was down are healed this way.
    pub fn replace_node(&self, node: &str, members: Vec<(String, String, serde_json::Value)>) {
        let keep: std::collections::HashSet<(String, String)> = members.iter().map(|(c, u, _)| (c.clone(), u.clone())).collect();
        let gone: Vec<(String, Vec<(String, serde_json::Value)>)> = self
            .channels
            .iter()
            .filter_map(|entry| {
                let users: Vec<(String, serde_json::Value)> = entry
                    .remote
                    .iter()
                    .filter(|(user, _)| !keep.contains(&(entry.key().clone(), (*user).clone())))
                    .filter_map(|(user, nodes)| nodes.get(node).map(|info| (user.clone(), info.clone())))
                    .collect();
                (!users.is_empty()).then(|| (entry.key().clone(), users))
            })
            .collect();
        for (channel, users) in gone {
            for (user_id, user_info) in users {
                self.remote_presence(node, &channel, PresenceMember { user_id, user_info }, false);
            }
        }
        for (channel, user_id, user_info) in members {
            self.remote_presence(node, &channel, PresenceMember { user_id, user_info }, true);
        }
    }

    /// Every presence member on this node: what a new node needs to hear.
    pub fn local_members(&self) -> Vec<(String, String, serde_json::Value)> {
        let mut out = vec![];
        for entry in self.channels.iter() {
            for (user, (info, _)) in &entry.local {
                out.push((entry.key().clone(), user.clone(), info.clone()));
            }
        }
        out
    }

    /// Pushes the same bytes to every subscriber of `channel` but `except`; returns how many
    /// got it.
    pub fn broadcast(&self, channel: &str, frame: Bytes, except: Option<&str>) -> usize {
        match self.channels.get(channel) {
            Some(state) => Self::send_all(&state, frame, except),
            None => 0,
        }
    }

    /// The user ids present on a channel, cluster-wide.
    pub fn members(&self, channel: &str) -> Vec<String> {
        self.channels.get(channel).map(|s| s.members().into_iter().map(|m| m.user_id).collect()).unwrap_or_default()
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
    fn remote_members_count_across_nodes() {
        let hub = Hub::default();
        let (b, mut rx_b) = Conn::new("1.1".into(), 16);
        let (sub, _) = hub.subscribe("presence-x", &b, member("b"));
        assert_eq!(sub.members.unwrap().len(), 1);
        drain(&mut rx_b);
        // Ann joins on node 2, then on node 3: one member_added.
        hub.remote_presence("n2", "presence-x", member("a").unwrap(), true);
        hub.remote_presence("n3", "presence-x", member("a").unwrap(), true);
        let got = drain(&mut rx_b);
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("member_added"));
        // A later local subscriber sees Ann in the snapshot.
        let (c, _rx_c) = Conn::new("1.2".into(), 16);
        let (sub, change) = hub.subscribe("presence-x", &c, member("c"));
        assert_eq!(sub.members.unwrap().iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert!(change.unwrap().joined);
        drain(&mut rx_b);
        // Node 2 dies: Ann is still on node 3. Node 3 leaves: now she is gone.
        hub.drop_node("n2");
        assert!(drain(&mut rx_b).is_empty());
        hub.remote_presence("n3", "presence-x", member("a").unwrap(), false);
        let got = drain(&mut rx_b);
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("member_removed"));
    }

    #[test]
    fn a_snapshot_replaces_what_a_node_had() {
        let hub = Hub::default();
        let (b, mut rx_b) = Conn::new("1.1".into(), 16);
        hub.subscribe("presence-x", &b, member("b"));
        hub.remote_presence("n2", "presence-x", member("a").unwrap(), true);
        hub.remote_presence("n2", "presence-x", member("c").unwrap(), true);
        drain(&mut rx_b);
        // Node 2's snapshot: Ann left while the bus was down, Dee joined; Cy stays.
        let snapshot = vec![
            ("presence-x".to_owned(), "c".to_owned(), json!({"name": "c"})),
            ("presence-x".to_owned(), "d".to_owned(), json!({"name": "d"})),
        ];
        hub.replace_node("n2", snapshot);
        let got = drain(&mut rx_b);
        assert_eq!(got.iter().filter(|f| f.contains("member_removed") && f.contains("\\\"a\\\"")).count(), 1, "{got:?}");
        assert_eq!(got.iter().filter(|f| f.contains("member_added")).count(), 1, "{got:?}");
        assert_eq!(hub.members("presence-x"), vec!["b", "c", "d"]);
    }

    #[test]
    fn revoking_a_credential_closes_only_its_sockets() {
        let hub = Hub::default();
        let (a, _rx_a) = Conn::new("1.1".into(), 4);
        let (b, _rx_b) = Conn::new("1.2".into(), 4);
        hub.register(&a);
        hub.register(&b);
        assert!(hub.bind_credential("1.1", "s:aaa", "u:1"));
        assert!(hub.bind_credential("1.2", "s:bbb", "u:2"));
        assert!(!hub.bind_credential("9.9", "s:aaa", "u:1"), "not a socket of this node");
        assert_eq!(hub.close_credential("s:aaa", protocol::code::UNAUTHORIZED), 1);
        assert_eq!(a.close_code(), Some(protocol::code::UNAUTHORIZED));
        assert_eq!(b.close_code(), None);
        // A user's key closes every socket of that user, whatever credential authorized it.
        let (c, _rx_c) = Conn::new("1.3".into(), 4);
        hub.register(&c);
        assert!(hub.bind_credential("1.3", "t:ccc", "u:2"));
        assert_eq!(hub.close_credential("u:2", protocol::code::UNAUTHORIZED), 2);
        assert_eq!(c.close_code(), Some(protocol::code::UNAUTHORIZED));
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
