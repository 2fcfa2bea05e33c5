//! The Postgres store: every SQL statement of Switchboard lives under this folder, one file per
//! aggregate. Each public method is one transaction. It implements the core's store ports.

mod accounts;
mod analytics;
mod channels;
mod contacts;
mod schedule;
mod threads;

use actors::DomainError;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

/// The store: a pool of Postgres connections.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub pool: PgPool,
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot reach Postgres at DATABASE_URL ({0}); start Postgres or set DATABASE_URL to a reachable server")]
    Unreachable(sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The embedded migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl PgStore {
    /// Connects, creating the database first when it does not exist.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)?;
        if !Postgres::database_exists(url).await.map_err(StoreError::Unreachable)? {
            tracing::info!("creating the database");
            Postgres::create_database(url).await.map_err(StoreError::Unreachable)?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(StoreError::Unreachable)?;
        Ok(PgStore { pool })
    }

    /// A store on an existing pool (tests).
    pub fn from_pool(pool: PgPool) -> PgStore {
        PgStore { pool }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Whether Postgres answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The stored value of a server setting, storing `generate()` first if there is none (the
    /// first writer wins when several nodes start at once).
    pub async fn setting_or_init(&self, name: &str, generate: impl FnOnce() -> String) -> Result<String, DomainError> {
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(generate())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1").bind(name).fetch_one(&self.pool).await.map_err(db)
    }

    /// Whether there is no team yet (a fresh database gets the demo team).
    pub async fn is_empty(&self) -> Result<bool, DomainError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM teams").fetch_one(&self.pool).await.map_err(db)?;
        Ok(n == 0)
    }
}

/// Maps a database error to the domain: unique → Conflict, check/foreign key → Invalid, the rest
/// Internal (logged, never shown).
pub(crate) fn db(e: sqlx::Error) -> DomainError {
    if let sqlx::Error::Database(d) = &e {
        let constraint = d.constraint().unwrap_or_default().to_owned();
        match d.code().as_deref() {
            Some("23505") => {
                let what = match constraint.as_str() {
                    "users_email_key" => "an account with this email already exists",
                    "contacts_team_phone_key" => "a contact with this phone number already exists",
                    "channels_account_number_key" => "this number is already configured",
                    _ => "this already exists",
                };
                return DomainError::Conflict(what.into());
            }
            Some("23514") | Some("23503") | Some("22P02") | Some("22001") => {
                return DomainError::invalid(field_of(&constraint), format!("is not acceptable ({constraint})"));
            }
            _ => {}
        }
    }
    tracing::error!(error = %e, "database error");
    DomainError::Internal(e.to_string())
}

/// The request field a constraint guards, for error messages.
fn field_of(constraint: &str) -> &'static str {
    for field in ["phone", "email", "name", "number", "account_sid", "messaging_service_sid", "body", "status", "role", "kind", "assignee"]
    {
        if constraint.contains(field) {
            return field;
        }
    }
    "request"
}

/// A search term as an ILIKE pattern that matches it anywhere, its wildcards escaped.
pub(crate) fn like_pattern(term: &str) -> String {
    format!("%{}%", term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Maps "no row" to NotFound(what).
pub(crate) fn not_found(what: &'static str) -> impl Fn(sqlx::Error) -> DomainError {
    move |e| match e {
        sqlx::Error::RowNotFound => DomainError::NotFound(what),
        e => db(e),
    }
}

/// Parses a stored enum spelling (the CHECK constraints make a failure a bug).
pub(crate) fn parse<T: FromStr>(s: &str) -> Result<T, DomainError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| DomainError::Internal(e.to_string()))
}

/// An opaque keyset cursor: the sort key and the id of the last row of a page.
pub(crate) mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use time::OffsetDateTime;
    use uuid::Uuid;

    pub fn encode(at: OffsetDateTime, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.unix_timestamp_nanos()))
    }

    pub fn decode(s: &str) -> Result<(OffsetDateTime, Uuid), actors::DomainError> {
        let bad = || actors::DomainError::invalid("cursor", "is not a cursor this server gave out");
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (at, id) = raw.split_once('|').ok_or_else(bad)?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse().map_err(|_| bad())?).map_err(|_| bad())?;
        Ok((at, id.parse().map_err(|_| bad())?))
    }
}
