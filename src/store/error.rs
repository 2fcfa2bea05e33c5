//! The store's one error type. A `sqlx::Error` is classified exactly once, where it enters the
//! store (`?` uses the `From` below), so no query decides for itself what a database error
//! means: a duplicate is a conflict, bad input is the client's (a 4xx, never a 500), a lost or
//! exhausted connection is "try again" (503), and only what is left is an internal error, logged
//! once here. The port traits speak `DomainError`; [`op`] converts at that edge.

use actors::DomainError;
use actors::domain::UnknownValue;
use sqlx::postgres::PgDatabaseError;
use std::future::Future;

/// Why a store call failed (or, for the last three variants, why the store could not start).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the change; the message is readable by the user.
    #[error("{0}")]
    Conflict(String),
    /// The request carried a value Postgres refuses (a constraint, a NUL byte, a number or date
    /// out of range, a malformed value).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// The row the call needed does not exist (or belongs to another team).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Postgres could not be reached or had no connection to spare: the caller may retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a corrupt row. Logged when it is classified, never shown.
    #[error("database error: {0}")]
    Internal(String),
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot reach Postgres at DATABASE_URL ({0}); start Postgres or set DATABASE_URL to a reachable server")]
    Unreachable(sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A shorthand for [`StoreError::Invalid`].
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid { field, message: message.into() }
    }

    /// An internal error, logged once here.
    pub(crate) fn internal(what: impl std::fmt::Display) -> StoreError {
        tracing::error!(error = %what, "database error");
        StoreError::Internal(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(d) => {
                let (column, message) = match d.try_downcast_ref::<PgDatabaseError>() {
                    Some(pg) => (pg.column().unwrap_or_default(), pg.message()),
                    None => ("", d.message()),
                };
                let constraint = d.constraint().unwrap_or_default();
                let code = d.code().unwrap_or_default();
                if let Some(classified) = classify(&code, constraint, column) {
                    return classified;
                }
                // Connection exceptions (08), too many connections (53), an operator shutdown
                // (57P0x), a deadlock or serialization failure (40): nothing the request did.
                if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P0") || code.starts_with("40") {
                    outage::started(&format!("{code}: {message}"));
                    return StoreError::Unavailable(message.to_owned());
                }
                StoreError::internal(&e)
            }
            sqlx::Error::RowNotFound => StoreError::NotFound("record"),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => {
                outage::started(&e);
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::internal(&e),
        }
    }
}

/// What a SQLSTATE says about the request, if it is the request's fault.
fn classify(code: &str, constraint: &str, column: &str) -> Option<StoreError> {
    let field = field_of(if constraint.is_empty() { column } else { constraint });
    match code {
        "23505" => Some(StoreError::Conflict(
            match constraint {
                "users_email_key" => "an account with this email already exists",
                "contacts_team_phone_key" => "a contact with this phone number already exists",
                "channels_account_number_key" => "this number is already configured",
                "canned_replies_team_shortcut_key" | "canned_replies_owner_shortcut_key" => "a reply with this shortcut already exists",
                "contact_lists_team_name_key" => "a list with this name already exists",
                "labels_team_name_key" => "a label with this name already exists",
                _ => "this already exists",
            }
            .into(),
        )),
        "23514" | "23503" | "23502" => {
            let rule = if constraint.is_empty() { column } else { constraint };
            Some(StoreError::Invalid { field, message: format!("is not acceptable ({rule})") })
        }
        // Class 22, data exception: the value itself cannot be stored.
        _ if code.starts_with("22") => {
            let message = match code {
                "22021" | "22P05" => "contains a character that cannot be stored (such as a NUL byte)",
                "22003" => "has a number out of range",
                "22008" => "has a date or time out of range",
                "22001" => "is too long",
                "22P02" | "22007" => "has a value in the wrong format",
                _ => "has a value that is not acceptable",
            };
            Some(StoreError::Invalid { field, message: message.into() })
        }
        _ => None,
    }
}

/// The request field a constraint or column guards, for error messages.
fn field_of(constraint: &str) -> &'static str {
    for field in [
        "phone",
        "email",
        "name",
        "number",
        "account_sid",
        "messaging_service_sid",
        "body",
        "status",
        "role",
        "kind",
        "assignee",
        "shortcut",
        "title",
    ] {
        if constraint.contains(field) {
            return field;
        }
    }
    "request"
}

/// A stored enum spelling the code does not know: the row is corrupt (or newer than this code).
impl From<UnknownValue> for StoreError {
    fn from(e: UnknownValue) -> StoreError {
        StoreError::internal(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError::internal(e)
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> DomainError {
        match e {
            StoreError::Conflict(m) => DomainError::Conflict(m),
            StoreError::Invalid { field, message } => DomainError::Invalid { field, message },
            StoreError::NotFound(what) => DomainError::NotFound(what),
            StoreError::Unavailable(_) | StoreError::Unreachable(_) => DomainError::Unavailable,
            e @ (StoreError::Internal(_) | StoreError::BadUrl(_) | StoreError::Migrate(_)) => DomainError::Internal(e.to_string()),
        }
    }
}

/// Runs a store operation and speaks the ports' language: every port method is
/// `op(async move { … }).await`, with plain `?` inside.
pub(crate) async fn op<T>(f: impl Future<Output = Result<T, StoreError>>) -> Result<T, DomainError> {
    let result = f.await;
    if result.is_ok() {
        outage::ended();
    }
    result.map_err(DomainError::from)
}

/// Whether the database is known to be unreachable: an outage is logged once when it starts and
/// once when it ends, not once per request (a busy server would write thousands of lines).
mod outage {
    use std::sync::atomic::{AtomicBool, Ordering};

    static DOWN: AtomicBool = AtomicBool::new(false);

    /// A call could not reach the database.
    pub(super) fn started(error: &dyn std::fmt::Display) {
        if !DOWN.swap(true, Ordering::AcqRel) {
            tracing::error!(%error, "the database is unreachable: requests answer 503 until it is back");
        } else {
            tracing::debug!(%error, "database still unavailable");
        }
    }

    /// A call reached the database.
    pub(super) fn ended() {
        if DOWN.load(Ordering::Relaxed) && DOWN.swap(false, Ordering::AcqRel) {
            tracing::info!("the database is reachable again");
        }
    }
}

/// Names what was not found: `fetch_one(…).await.map_err(not_found("thread"))?`.
pub(crate) fn not_found(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match e {
        sqlx::Error::RowNotFound => StoreError::NotFound(what),
        e => e.into(),
    }
}
