//! Cluster membership: which other nodes are alive, and presence across them.
//!
//! Each node tells the others over the bus when one of its users first joins or last leaves a
//! presence channel, says hello at start, beats every few seconds and says goodbye at shutdown.
//! A node first heard of gets a snapshot of our members; a node silent for three beats is taken
//! for dead and its members leave. Frames from other nodes go straight to the local hub.

use crate::fanout::Fanout;
use crate::hub::{ConnRef, PresenceChange, Subscribed};
use crate::ids::{TeamId, UserId};
use crate::ports::{BusEvent, BusMessage};
use crate::protocol::{ChannelName, PresenceMember};
use bytes::Bytes;
use dashmap::DashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often a node tells the others it is alive; three missed beats and it is dropped.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// This node's view of the cluster.
pub struct Cluster {
    fanout: Arc<Fanout>,
    /// Other nodes heard on the bus, and when.
    nodes: DashMap<String, Instant>,
}

impl Cluster {
    /// A cluster view that publishes through `fanout`'s bus.
    pub fn new(fanout: Arc<Fanout>) -> Self {
        Cluster { fanout, nodes: DashMap::new() }
    }

    fn origin(&self) -> String {
        self.fanout.node().to_owned()
    }

    /// Says hello, then runs two owned tasks until `shutdown`: the bus reader and the heartbeat.
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, shutdown: CancellationToken) {
        let mut inbox = self.fanout.bus().subscribe();
        self.fanout.bus().publish(BusMessage::Hello { origin: self.origin() });
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = stop.cancelled() => break,
                    e = inbox.recv() => e,
                };
                match event {
                    Some(e) => me.receive(e),
                    None => break,
                }
            }
        });
        let me = self.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => me.beat(),
                }
            }
        });
    }

    /// One heartbeat: tell the others we are alive, drop the nodes that went silent.
    fn beat(&self) {
        self.fanout.bus().publish(BusMessage::Heartbeat { origin: self.origin() });
        let silent: Vec<String> = self.nodes.iter().filter(|n| n.value().elapsed() > HEARTBEAT * 3).map(|n| n.key().clone()).collect();
        for node in silent {
            tracing::warn!(%node, "a node went silent: its presence members leave");
            self.nodes.remove(&node);
            self.fanout.hub.drop_node(&node);
        }
    }

    /// Tells the other nodes this one is leaving (its members leave at once).
    pub fn leave(&self) {
        self.fanout.bus().publish(BusMessage::Bye { origin: self.origin() });
    }

    /// Subscribes a local socket; a presence change is told to the other nodes.
    pub fn subscribe(&self, channel: &str, conn: &ConnRef, member: Option<PresenceMember>) -> Subscribed {
        let (subscribed, change) = self.fanout.hub.subscribe(channel, conn, member);
        self.tell(change);
        subscribed
    }

    /// Unsubscribes a local socket from one channel.
    pub fn unsubscribe(&self, channel: &str, socket_id: &str) {
        let change = self.fanout.hub.unsubscribe(channel, socket_id);
        self.tell(change);
    }

    /// A local socket closed: it leaves all its channels.
    pub fn disconnect(&self, conn: &ConnRef, channels: impl IntoIterator<Item = String>) {
        for change in self.fanout.hub.unregister(conn, channels) {
            self.tell(Some(change));
        }
    }

    /// Remembers which credential authorized a socket's channels, and as which user, on
    /// whichever node holds it.
    pub fn bind_credential(&self, socket_id: &str, credential: &str, user: UserId) {
        let user = user_key(user);
        if !self.fanout.hub.bind_credential(socket_id, credential, &user) {
            self.fanout.bus().publish(BusMessage::Credential {
                origin: self.origin(),
                socket_id: socket_id.to_owned(),
                credential: credential.to_owned(),
                user,
            });
        }
    }

    /// A user's access changed (deactivated, removed, role changed): every socket of theirs
    /// closes with 4009, here and on every other node. The app then asks who it is: signed out
    /// it goes to sign-in, still signed in it reloads with its new rights.
    pub fn revoke_user(&self, user: UserId) {
        self.revoke(&user_key(user));
    }

    /// A credential was revoked: its sockets close with 4009 (pusher-js does not reconnect on
    /// it), here and on every other node.
    pub fn revoke(&self, credential: &str) {
        self.fanout.hub.close_credential(credential, crate::protocol::code::UNAUTHORIZED);
        self.fanout.bus().publish(BusMessage::Revoked { origin: self.origin(), credential: credential.to_owned() });
    }

    /// The users online in a team (any node), from the team channel's presence.
    pub fn online(&self, team: TeamId) -> Vec<UserId> {
        self.fanout.hub.members(&ChannelName::Team(team).to_string()).iter().filter_map(|u| u.parse().ok()).collect()
    }
}

impl crate::ports::Presence for Cluster {
    fn online(&self, team: TeamId) -> Vec<UserId> {
        Cluster::online(self, team)
    }
}

impl Cluster {
    fn tell(&self, change: Option<PresenceChange>) {
        if let Some(c) = change {
            self.fanout.bus().publish(BusMessage::Presence {
                origin: self.origin(),
                channel: c.channel,
                user_id: c.member.user_id,
                user_info: c.member.user_info,
                joined: c.joined,
            });
        }
    }

    fn snapshot(&self) {
        self.fanout.bus().publish(BusMessage::Snapshot { origin: self.origin(), members: self.fanout.hub.local_members() });
    }

    /// Something from the bus.
    pub fn receive(&self, event: BusEvent) {
        let msg = match event {
            BusEvent::Message(msg) => msg,
            BusEvent::Reconnected => {
                // The link was down: frames from the other nodes may be lost, and they may have
                // dropped our members or missed our deltas. Introduce us again with a snapshot
                // that replaces what they know of us (they answer Hello with theirs), and tell
                // every local socket to reconnect: pusher-js does at once, and the app catches up
                // by seq and reloads the inbox. Nothing is lost silently.
                tracing::warn!("the bus was down: local sockets resync, presence is re-announced");
                metrics::counter!("switchboard_bus_resyncs_total").increment(1);
                self.fanout.bus().publish(BusMessage::Hello { origin: self.origin() });
                self.snapshot();
                self.fanout.hub.close_all(crate::protocol::code::RECONNECT);
                return;
            }
        };
        let origin = msg.origin().to_owned();
        if origin == self.fanout.node() {
            return;
        }
        // Any message proves the node is alive; a node first heard of gets our snapshot (it may
        // have started before us, or missed our Hello), and so does every Hello (a node back
        // from a lost link needs our members again).
        let new_node = self.nodes.insert(origin.clone(), Instant::now()).is_none();
        if (new_node && !matches!(msg, BusMessage::Bye { .. })) || matches!(msg, BusMessage::Hello { .. }) {
            self.snapshot();
        }
        let hub = &self.fanout.hub;
        match msg {
            BusMessage::Frame { channel, frame, .. } => {
                hub.broadcast(&channel, Bytes::from(frame), None);
            }
            BusMessage::Presence { channel, user_id, user_info, joined, .. } => {
                hub.remote_presence(&origin, &channel, PresenceMember { user_id, user_info }, joined);
            }
            // A snapshot is the node's whole truth: it replaces, never merges.
            BusMessage::Snapshot { members, .. } => hub.replace_node(&origin, members),
            BusMessage::Credential { socket_id, credential, user, .. } => {
                hub.bind_credential(&socket_id, &credential, &user);
            }
            BusMessage::Revoked { credential, .. } => {
                hub.close_credential(&credential, crate::protocol::code::UNAUTHORIZED);
            }
            BusMessage::Hello { .. } | BusMessage::Heartbeat { .. } => {}
            BusMessage::Bye { .. } => {
                self.nodes.remove(&origin);
                hub.drop_node(&origin);
            }
        }
    }
}

/// The key a user's sockets are bound under, beside their credential's.
fn user_key(user: UserId) -> String {
    format!("u:{user}")
}
