//! Fan-out: an event is serialized once, pushed to this node's subscribers as shared bytes, and
//! handed to the bus for the other nodes. Nothing here waits: the hub's per-socket queues and
//! the bus's publisher are both non-blocking.

use crate::domain::ThreadEvent;
use crate::hub::Hub;
use crate::ports::{Bus, BusMessage};
use crate::protocol::{self, ChannelName};
use bytes::Bytes;
use std::sync::Arc;

/// Publishes frames to local sockets and other nodes.
pub struct Fanout {
    pub hub: Arc<Hub>,
    bus: Arc<dyn Bus>,
    node: Arc<str>,
}

impl Fanout {
    /// Fan-out through `hub` and `bus`, as node `node`.
    pub fn new(hub: Arc<Hub>, bus: Arc<dyn Bus>, node: &str) -> Self {
        Fanout { hub, bus, node: node.into() }
    }

    /// The node this process is on the bus.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The bus (the cluster uses it for membership).
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Serializes an event once and publishes it on `channel`.
    pub fn publish(&self, channel: ChannelName, event: &str, data: &impl serde::Serialize) {
        let channel = channel.to_string();
        let frame = protocol::event_frame(event, &channel, data);
        self.publish_frame(channel, frame, None);
    }

    /// Publishes a committed thread event: to the thread channel, or to the one reader's private
    /// channel for events only they may see (private notes).
    pub fn publish_event(&self, event: &ThreadEvent) {
        let channel = match event.audience {
            Some(user) => ChannelName::User(user),
            None => ChannelName::Thread(event.thread_id),
        };
        self.publish(channel, &event.kind, event);
    }

    /// Fans out a ready frame locally (but not to the socket `except`) and to the other nodes.
    pub fn publish_frame(&self, channel: String, frame: String, except: Option<&str>) {
        if self.bus.is_shared() {
            self.hub.broadcast(&channel, Bytes::from(frame.clone()), except);
            self.bus.publish(BusMessage::Frame { origin: self.node.to_string(), channel, frame });
        } else {
            self.hub.broadcast(&channel, Bytes::from(frame), except);
        }
    }
}
