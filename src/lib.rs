//! Switchboard's composition root: configuration, the Postgres store, the Redis bus, the Twilio
//! client and the simulator, wired together with the actors and the web edge into one server.

pub mod bus;
pub mod config;
pub mod content_api;
pub mod mail;
pub mod seed;
pub mod serve;
pub mod server;
pub mod simulator;
pub mod store;
pub mod twilio;

pub use config::Config;
pub use server::{ServerError, run};
