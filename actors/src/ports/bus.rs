//! The bus that links nodes (Redis pub/sub, or in-process for one node): what travels on it.

/// What travels between nodes. Every message names the node that sent it (which ignores it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// A ready Pusher frame for one channel; the origin already fanned it out locally.
    Frame { origin: String, channel: String, frame: String },
    /// A user's first connection to a presence channel on the origin node opened (`joined`),
    /// or their last one there closed.
    Presence { origin: String, channel: String, user_id: String, user_info: serde_json::Value, joined: bool },
    /// A node started: the others answer with a snapshot of their local members.
    Hello { origin: String },
    /// Every local presence member of the origin node: (channel, user id, user info).
    Snapshot { origin: String, members: Vec<(String, String, serde_json::Value)> },
    /// The origin is alive; a node silent for a while is taken for dead and its members leave.
    Heartbeat { origin: String },
    /// The origin is shutting down: its members leave now.
    Bye { origin: String },
    /// A socket's channels were authorized with this credential (a hash of a session or token):
    /// the node that holds the socket remembers it.
    Credential { origin: String, socket_id: String, credential: String, user: String },
    /// A credential was revoked (sign-out): every node closes the sockets it authorized.
    Revoked { origin: String, credential: String },
}

impl BusMessage {
    /// The node that sent it.
    pub fn origin(&self) -> &str {
        match self {
            BusMessage::Frame { origin, .. }
            | BusMessage::Presence { origin, .. }
            | BusMessage::Hello { origin }
            | BusMessage::Snapshot { origin, .. }
            | BusMessage::Heartbeat { origin }
            | BusMessage::Bye { origin }
            | BusMessage::Credential { origin, .. }
            | BusMessage::Revoked { origin, .. } => origin,
        }
    }
}

/// What the bus hands to this node.
#[derive(Clone, Debug)]
pub enum BusEvent {
    /// A message from another node.
    Message(BusMessage),
    /// The link to the other nodes was lost and is back: messages may have been missed meanwhile.
    Reconnected,
}

/// Carries committed events and presence changes between nodes: a publishing half that never
/// waits (an actor hands the message over and goes on) and a subscribing half the cluster reads.
pub trait Bus: Send + Sync {
    /// Publishes to every other node.
    fn publish(&self, message: BusMessage);

    /// The messages of the other nodes. Called once, by the cluster; the stream ends when the bus
    /// is closed (a single node's bus ends at once).
    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<BusEvent>;

    /// Whether there are other nodes at all (a single node skips building bus messages).
    fn is_shared(&self) -> bool {
        true
    }
}

/// The bus of a single node: there is nobody else to tell.
pub struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _message: BusMessage) {}

    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<BusEvent> {
        tokio::sync::mpsc::channel(1).1
    }

    fn is_shared(&self) -> bool {
        false
    }
}
