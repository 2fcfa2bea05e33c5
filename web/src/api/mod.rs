//! The JSON API under `/api`, plus `/pusher/auth` and the ops endpoints.

mod analytics;
mod assignment;
mod auth;
mod automation;
mod bulk;
mod campaigns;
mod channels;
mod contacts;
mod follow_ups;
mod identities;
mod imports;
mod labels;
mod lists;
mod messages;
mod notifications;
mod ops;
mod passwords;
mod realtime;
mod replies;
mod search;
mod simulator;
mod simulator_calls;
mod team;
mod templates;
mod threads;
mod two_factor;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};

/// The body limit of the import routes (the router's default is 64 KiB): the file plus the
/// form's other fields.
const IMPORT_BODY_LIMIT: usize = actors::rules::import::MAX_IMPORT_BYTES + 64 * 1024;

/// The CSV upload routes: a big body (`IMPORT_BODY_LIMIT`) that may come slowly, so the router
/// gives them their own timeout (`WebConfig::upload_timeout`) instead of the request timeout.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/api/contacts/import", post(imports::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)))
        .route("/api/contacts/import/preview", post(imports::preview).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)))
}

/// Every other API route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/sign-up", post(auth::sign_up))
        .route("/api/auth/sign-in", post(auth::sign_in))
        .route("/api/auth/sign-in/two-factor", post(auth::sign_in_two_factor))
        .route("/api/auth/sign-out", post(auth::sign_out))
        .route("/api/auth/providers", get(auth::providers))
        .route("/api/auth/sign-up/confirm", post(passwords::confirm_sign_up))
        .route("/api/auth/password", post(passwords::change))
        .route("/api/auth/password/forgot", post(passwords::forgot))
        .route("/api/auth/password/reset", post(passwords::reset))
        .route("/api/auth/password/reset/check", post(passwords::check_reset))
        .route("/api/team/members/{id}/password-reset", post(passwords::admin_link))
        .route("/api/auth/identities", get(identities::list))
        .route("/api/auth/identities/{id}", axum::routing::delete(identities::unlink))
        .route("/api/me", get(auth::me))
        .route("/api/auth/two-factor", axum::routing::delete(two_factor::disable))
        .route("/api/auth/two-factor/setup", post(two_factor::setup))
        .route("/api/auth/two-factor/confirm", post(two_factor::confirm))
        .route("/api/auth/two-factor/recovery-codes", post(two_factor::regenerate))
        .route("/api/team/two-factor", axum::routing::put(two_factor::require))
        .route("/api/tokens", get(auth::list_tokens).post(auth::create_token))
        .route("/api/tokens/{id}", axum::routing::delete(auth::revoke_token))
        .route("/api/invites", get(team::invites).post(team::create_invite))
        .route("/api/invites/{id}", axum::routing::delete(team::revoke_invite))
        .route("/api/invites/{id}/resend", post(team::resend_invite))
        .route("/api/team/members", get(team::members))
        .route("/api/team/members/{id}", patch(team::update_member).delete(team::remove_member))
        .route("/api/audit", get(team::audit))
        .route("/api/contacts", get(contacts::list).post(contacts::create))
        .route("/api/contacts/{id}", get(contacts::get).patch(contacts::update).delete(contacts::delete))
        .route("/api/contacts/{id}/restore", post(contacts::restore))
        .route("/api/contacts/{id}/lists", get(lists::contact_lists))
        .route("/api/contacts/bulk", post(lists::bulk))
        .route("/api/contacts/export.csv", get(imports::export_csv))
        .route("/api/contacts/import/{id}", get(imports::job).delete(imports::cancel))
        .route("/api/contacts/import/{id}/errors.csv", get(imports::errors_csv))
        .route("/api/campaigns", get(campaigns::list).post(campaigns::create))
        .route("/api/campaigns/{id}", get(campaigns::get).patch(campaigns::update).delete(campaigns::delete))
        .route("/api/campaigns/{id}/preview", get(campaigns::preview))
        .route("/api/campaigns/{id}/recipients.csv", get(campaigns::recipients_csv))
        .route("/api/campaigns/{id}/{action}", post(campaigns::act))
        .route("/api/lists", get(lists::list).post(lists::create))
        .route("/api/lists/{id}", get(lists::get).patch(lists::update).delete(lists::delete))
        .route("/api/lists/{id}/members", post(lists::add_members).delete(lists::remove_members))
        .route("/api/team/contact-fields", get(contacts::fields).put(contacts::set_fields))
        .route("/api/team/default-country", axum::routing::put(contacts::set_default_country))
        .route("/api/team/auto-assignment", get(assignment::get).put(assignment::set))
        .route("/api/automation/hours", get(automation::hours).put(automation::set_hours))
        .route("/api/automation/rules", get(automation::rules).post(automation::create))
        .route("/api/automation/rules/order", axum::routing::put(automation::reorder))
        .route("/api/automation/rules/dry-run", post(automation::dry_run))
        .route("/api/automation/rules/{id}", axum::routing::put(automation::update).delete(automation::delete))
        .route("/api/threads", get(threads::list))
        .route("/api/threads/counts", get(threads::counts))
        .route("/api/threads/bulk", post(bulk::bulk))
        .route("/api/threads/for-contact", post(threads::for_contact))
        .route("/api/threads/{id}", get(threads::get).patch(threads::update))
        .route("/api/threads/{id}/read", post(threads::read))
        .route("/api/threads/{id}/unread", post(threads::unread))
        .route("/api/labels", get(labels::list).post(labels::create))
        .route("/api/labels/{id}", patch(labels::update).delete(labels::delete))
        .route("/api/threads/{id}/events", get(threads::events))
        .route("/api/threads/{id}/notes", get(threads::notes).post(threads::add_note))
        .route("/api/replies", get(replies::list).post(replies::create))
        .route("/api/replies/preview", post(replies::preview))
        .route("/api/replies/{id}", get(replies::get).patch(replies::update).delete(replies::delete))
        .route("/api/templates", get(templates::list).post(templates::create))
        .route("/api/templates/sync", post(templates::sync))
        .route("/api/templates/{id}", get(templates::get).patch(templates::update).delete(templates::delete))
        .route("/api/templates/{id}/preview", post(templates::preview))
        .route("/api/follow-ups", get(follow_ups::list).post(follow_ups::create))
        .route("/api/follow-ups/{id}", patch(follow_ups::update))
        .route("/api/search", get(search::search))
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/read", post(notifications::read))
        .route("/api/notifications/preferences", get(notifications::preferences).put(notifications::set_preferences))
        .route("/api/messages", post(messages::create))
        .route("/api/messages/{id}", patch(messages::edit).delete(messages::cancel))
        .route("/api/messages/{id}/retry", post(messages::retry))
        .route("/api/channels", get(channels::list).post(channels::create))
        .route("/api/channels/{id}", get(channels::get).patch(channels::update).delete(channels::delete))
        .route("/api/numbers", get(channels::numbers))
        .route("/api/settings", get(channels::settings))
        .route("/api/simulator/inbound", post(simulator::inbound))
        .route("/api/simulator/call", post(simulator_calls::call))
        .route("/api/analytics/summary", get(analytics::summary))
        .route("/api/analytics/export.csv", get(analytics::export_csv))
        .route("/pusher/auth", post(realtime::auth))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
}

/// Parses a path id, answering 404 (not 400) for a malformed one: to a client, an id that cannot
/// exist and one that does not are the same thing.
pub(crate) fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, crate::error::ApiError> {
    raw.parse().map_err(|_| crate::error::ApiError::not_found(what))
}

pub use auth::simulated_channels;
pub(crate) use auth::{check_rate, me_json, new_secret, signed_in, two_factor_challenge};
