//! Switchboard's composition root: configuration, the Postgres store, the Redis bus, the Twilio
//! client and the simulator, wired together with the actors and the web edge into one server.

pub mod store;
