//! The HTTP edge over a core on the in-memory fakes, one request at a time with `oneshot`:
//! who may call what (401, 403, 404 for another team's thread), how bad input is answered (400,
//! 415, 422 naming the field), how a busy or failing core is answered (503 with Retry-After,
//! 500 without details), always in the one JSON error shape.

mod support;

mod access;
mod agent_timing;
mod contacts_page;
mod core_errors;
mod input;
mod providers;
mod templates;
mod triage;
