//! Switchboard's live core: actors (ractor), domain types and rules, the Pusher wire protocol,
//! the connection hub, and the ports (store, bus, carrier) the outside world implements.
//! Nothing here knows about HTTP or SQL.
//!
//! Dependencies between the files point one way (no file imports one that imports it back):
//! `core` wires `threads`/`contacts` → `thread` → `scheduler`, `team`, `send_guard`, `fanout`
//! → `hub`, `registry`, `ports`, `domain`, `rules`, `protocol`.

pub mod accounts;
pub mod agent_load;
pub mod assignment;
pub mod audit;
pub mod automation;
pub mod backlog;
pub mod campaigns;
pub mod channels;
pub mod clock;
pub mod cluster;
pub mod contacts;
pub mod core;
pub mod domain;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod fanout;
pub mod hub;
pub mod identities;
pub mod ids;
pub mod imports;
pub mod labels;
pub mod lists;
pub mod members;
pub mod message_templates;
pub mod notifications;
pub mod passwords;
pub mod phone;
pub mod ports;
pub mod protocol;
pub mod registry;
pub mod replies;
pub mod rules;
pub mod scheduler;
pub mod send_guard;
pub mod supervisor;
pub mod tab_counts;
pub mod team;
pub mod templates;
pub mod thread;
pub mod threads;
pub mod ttl_cache;
pub mod two_factor;

pub use crate::core::{Core, CoreConfig, CorePorts};
pub use crate::error::{DomainError, DomainResult};
