//! The core's behaviour over the in-memory fakes of its ports: no Postgres, no Redis, no
//! Twilio. Actors run on paused time wherever time matters, so a test of a 6 s expiry or a
//! 5 min idle stop takes milliseconds. One binary, one module per concern.

mod support;

mod admission;
mod automation;
mod backlog;
mod cluster;
mod contacts;
mod failures;
mod lifecycle;
mod replies;
mod scheduling;
mod sending;
mod shutdown;
mod triage;
mod typing;
mod validation;
mod whatsapp;
