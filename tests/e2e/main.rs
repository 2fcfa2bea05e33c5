//! End-to-end tests of the whole server: real Postgres (a fresh database per test from
//! `#[sqlx::test]`), real sockets, a fake Twilio started by each test where one is needed. One
//! test binary, one module per area; the harness lives in `support`.
//!
//! Tests that change the whole process (the descriptor limit, process-wide metrics) are their
//! own binaries beside this folder.

mod api;
mod api_tokens;
mod assignment;
mod automation;
mod bad_input;
mod calls;
mod campaigns;
mod campaigns_compliance;
mod contacts;
mod contacts_import;
mod contacts_live;
mod lost_answers;
mod new_conversation;
mod notifications;
mod oidc;
mod outage;
mod passwords;
mod realtime;
mod redis_outage;
mod replies;
mod scheduler;
mod scheduler_burst;
mod scheduler_nodes;
mod sealed_tokens;
mod search;
mod shutdown;
mod sign_in_throttle;
mod slowloris;
mod support;
mod team_admin;
mod triage;
mod twilio;
mod two_factor;
mod whatsapp;
mod workflow;
