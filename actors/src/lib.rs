//! Switchboard's live core: actors (ractor), domain types and ids, the Pusher wire protocol,
//! the connection hub, and the ports (store, bus, carrier) the outside world implements.
//! Nothing here knows about HTTP or SQL.

pub mod core;
pub mod domain;
pub mod error;
pub mod hub;
pub mod ids;
pub mod phone;
pub mod ports;
pub mod protocol;
pub mod scheduler;
pub mod supervisor;
pub mod team;
pub mod thread;

pub use crate::core::{Core, CoreConfig};
pub use crate::error::{DomainError, DomainResult};
