//! End-to-end tests of the Twilio edge: the exact REST request a send makes (against a fake
//! Twilio started by each test), how refusals and rate limits end, signed inbound webhooks and
//! status callbacks (and the forged, malformed and oversized ones that must write nothing),
//! STOP/START opt-out, the trial guard, and the built-in simulator loop.

mod group_commit;
mod inbound;
mod malformed;
mod opt_out;
mod sending;
mod simulator;
mod status;

pub(crate) use crate::support::twilio::*;
pub(crate) use crate::support::*;
pub(crate) use serde_json::{Value, json};
pub(crate) use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
pub(crate) use std::time::Duration;
pub(crate) use wiremock::matchers::{any, header, method, path};
pub(crate) use wiremock::{Mock, MockServer, ResponseTemplate};
