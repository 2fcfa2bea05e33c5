//! What every core test starts from: a `Core` over the in-memory fakes, a team seeded through
//! the store's own ports, a hub socket that records its frames, and waits that work in paused
//! time.

use actors::domain::{ChannelKind, Contact};
use actors::fakes::{FakeCarrier, MemoryStore};
use actors::hub::{Conn, ConnRef};
use actors::ids::{TeamId, ThreadId};
use actors::ports::{Bus, ContactWrites, InboundOutcome, LocalBus, NewContact, ThreadReads, ThreadWrites};
use actors::threads::InboundMessage;
use actors::{Core, CoreConfig, CorePorts};
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The config every test starts from: the defaults, with a send budget no test runs into
/// (governor waits in real time, which paused time cannot skip).
pub fn config() -> CoreConfig {
    CoreConfig { node_id: "node-a".into(), send_rate_per_second: 1000, ..CoreConfig::default() }
}

/// One node: its core and the fakes behind it.
pub struct Node {
    pub core: Arc<Core>,
    pub store: Arc<MemoryStore>,
    pub carrier: Arc<FakeCarrier>,
}

impl Node {
    /// A single node (local bus) on a fresh store, with `tweak` applied to [`config`].
    pub async fn start(tweak: impl FnOnce(&mut CoreConfig)) -> Node {
        let mut config = config();
        tweak(&mut config);
        Node::start_on(Arc::new(MemoryStore::new()), Arc::new(LocalBus), config).await
    }

    /// A node on `store` and `bus`.
    pub async fn start_on(store: Arc<MemoryStore>, bus: Arc<dyn Bus>, config: CoreConfig) -> Node {
        let carrier = Arc::new(FakeCarrier::new());
        let ports = CorePorts {
            store: store.clone(),
            bus,
            carrier: carrier.clone(),
            campaigns: Arc::new(actors::fakes::NoCampaigns),
            content_api: Arc::new(actors::fakes::FakeContentApi::default()),
        };
        let core = Core::start(ports, config).await.expect("the core starts");
        Node { core, store, carrier }
    }
}

/// A team with an admin and an agent.
pub use actors::fakes::seed::{SeededTeam as Team, team};

/// A contact of the team and their thread on the team's `kind` number.
pub async fn contact_thread(store: &MemoryStore, team: TeamId, name: &str, phone: &str, kind: ChannelKind) -> (Contact, ThreadId) {
    let contact = store.create_contact(team, &NewContact::basic(name, phone)).await.expect("contact");
    let (thread, _) = store.thread_for_contact(team, contact.id, kind, None).await.expect("thread");
    (contact, thread)
}

/// The usual start: one node, one team, one contact with an SMS thread.
pub struct World {
    pub node: Node,
    pub team: Team,
    pub contact: Contact,
    pub thread: ThreadId,
}

impl std::ops::Deref for World {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.node
    }
}

pub async fn world(tweak: impl FnOnce(&mut CoreConfig)) -> World {
    let node = Node::start(tweak).await;
    let team = team(&node.store, "Acme").await;
    let (contact, thread) = contact_thread(&node.store, team.id, "Carol", "+14155550100", ChannelKind::Sms).await;
    World { node, team, contact, thread }
}

/// The world's contact writes `body` to its thread (a verified webhook, as the edge hands it).
pub async fn inbound(w: &World, sid: &str, body: &str) -> InboundOutcome {
    inbound_to(w, w.thread, &w.contact.phone, sid, body).await
}

/// `from` writes `body` to `thread` of the world's team.
pub async fn inbound_to(w: &World, thread: ThreadId, from: &str, sid: &str, body: &str) -> InboundOutcome {
    let channel = w.store.thread(w.team.id, thread).await.unwrap().channel;
    let m = InboundMessage {
        team: w.team.id,
        channel: channel.id,
        kind: channel.kind,
        from: from.into(),
        profile_name: None,
        message_sid: sid.into(),
        body: body.into(),
        media: vec![],
        raw: serde_json::json!({}),
        opt_out_type: None,
    };
    w.core.threads.inbound(m).await.expect("the inbound message is stored")
}

/// Waits until `cond` holds, polling every 5 ms (of paused time, where the test pauses it);
/// fails the test after 30 s.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Lets every ready task run, without moving the clock.
pub async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

/// A local socket subscribed to some channels, keeping every frame it got.
pub struct Socket {
    pub conn: ConnRef,
    rx: mpsc::Receiver<Bytes>,
    frames: Vec<Value>,
}

impl Socket {
    /// A socket on `core`'s hub (not subscribed yet).
    pub fn new(core: &Core, id: &str) -> Socket {
        let (conn, rx) = Conn::new(id.into(), 1024);
        core.hub.register(&conn);
        Socket { conn, rx, frames: vec![] }
    }

    /// A socket subscribed to `channel` (no presence).
    pub fn on(core: &Core, id: &str, channel: &str) -> Socket {
        let socket = Socket::new(core, id);
        core.cluster.subscribe(channel, &socket.conn, None);
        socket
    }

    /// Every frame received so far, `data` decoded when it is a JSON string.
    pub fn frames(&mut self) -> &[Value] {
        while let Ok(bytes) = self.rx.try_recv() {
            let mut frame: Value = serde_json::from_slice(&bytes).expect("frames are JSON");
            if let Some(data) = frame["data"].as_str().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
                frame["data"] = data;
            }
            self.frames.push(frame);
        }
        &self.frames
    }

    /// The data of every frame of event `name`, in arrival order.
    pub fn events(&mut self, name: &str) -> Vec<Value> {
        self.frames().iter().filter(|f| f["event"] == name).map(|f| f["data"].clone()).collect()
    }
}
