//! An in-process network of buses: each node's `publish` reaches every other node's `subscribe`
//! receiver (never its own), as Redis pub/sub does. The link can be cut (messages are lost, as
//! they would be while Redis is unreachable) and restored (every node hears
//! `BusEvent::Reconnected`), so multi-node behaviour can be tested in one process.

use crate::ports::{Bus, BusEvent, BusMessage};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many messages a node's receiver holds; beyond that messages are dropped (like a slow
/// Redis subscriber).
const QUEUE: usize = 4096;

/// The network linking the buses of several nodes.
#[derive(Default)]
pub struct MemoryNetwork {
    inner: Mutex<Net>,
}

#[derive(Default)]
struct Net {
    nodes: Vec<(usize, mpsc::Sender<BusEvent>)>,
    cut: bool,
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A new node's bus on this network.
    pub fn bus(self: &Arc<Self>) -> Arc<MemoryBus> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut net = self.lock();
        let id = net.nodes.len();
        net.nodes.push((id, tx));
        Arc::new(MemoryBus { id, network: self.clone(), inbox: Mutex::new(Some(rx)) })
    }

    /// Cuts the link: messages published from now on are lost.
    pub fn cut(&self) {
        self.lock().cut = true;
    }

    /// Restores the link: every node hears `Reconnected` (it may have missed messages).
    pub fn restore(&self) {
        let mut net = self.lock();
        net.cut = false;
        for (_, tx) in &net.nodes {
            let _ = tx.try_send(BusEvent::Reconnected);
        }
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.lock().cut
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Net> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One node's bus on a [`MemoryNetwork`].
pub struct MemoryBus {
    id: usize,
    network: Arc<MemoryNetwork>,
    inbox: Mutex<Option<mpsc::Receiver<BusEvent>>>,
}

impl Bus for MemoryBus {
    fn publish(&self, message: BusMessage) {
        let net = self.network.lock();
        if net.cut {
            return;
        }
        for (id, tx) in &net.nodes {
            if *id != self.id {
                let _ = tx.try_send(BusEvent::Message(message.clone()));
            }
        }
    }

    fn subscribe(&self) -> mpsc::Receiver<BusEvent> {
        // Called once, by the cluster; a second caller gets a stream that has already ended.
        self.inbox.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_else(|| mpsc::channel(1).1)
    }
}
