//! In-memory fakes of the ports, so the core's behaviour can be tested without Postgres, Redis
//! or Twilio: actors over these fakes with paused time, the router over a `Core` built on them.
//! Compiled for this crate's tests and, behind the `fakes` feature, for other crates' tests.
//!
//! - [`MemoryStore`]: every store port, with the semantics the core relies on (gapless seqs,
//!   the status ladder, claims, idempotent inbound, …) and knobs: latency, injected failures,
//!   call counts.
//! - [`FakeCarrier`]: records requests, answers a sid (after an optional delay) or a scripted
//!   refusal.
//! - [`FakeContentApi`]: Twilio's Content API answering the items a test sets.
//! - [`MemoryNetwork`] / [`MemoryBus`]: several nodes' buses in one process, with a link that can
//!   be cut and restored.
//! - [`seed`]: a team (admin, agent, simulated numbers) signed up through the ports.

mod bus;
mod carrier;
mod content_api;
pub mod contracts;
mod no_campaigns;
pub mod seed;
mod store;

pub use bus::{MemoryBus, MemoryNetwork};
pub use carrier::FakeCarrier;
pub use content_api::FakeContentApi;
pub use no_campaigns::NoCampaigns;
pub use store::{METHODS, MemoryStore};
