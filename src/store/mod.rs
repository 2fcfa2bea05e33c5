//! The Postgres store: every SQL statement of Switchboard lives under this folder, one file per
//! aggregate (threads, the busiest, one folder split by concern). Each public method is one
//! transaction, and the hot writes are one statement each. It implements the core's store
//! ports; `error` classifies database errors once, `counted` counts the statements sent.

mod accounts;
mod analytics;
mod assignment;
pub(crate) mod automation;
mod campaigns;
mod channels;
mod contacts;
mod counted;
mod error;
mod group_commit;
mod identities;
mod imports;
mod labels;
mod lists;
mod members;
mod notifications;
mod passwords;
mod replies;
mod schedule;
pub(crate) mod search;
pub mod secrets;
mod templates;
mod threads;
mod two_factor;

pub(crate) use counted::Tx;
pub use error::StoreError;
pub(crate) use error::{not_found, op};

use actors::DomainError;
use counted::{Counted, Counter};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The store: a pool of Postgres connections, and how many statements it sent through them.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub pool: PgPool,
    statements: Arc<Counter>,
    /// Seals Twilio auth tokens at rest.
    pub(crate) sealer: Arc<secrets::Sealer>,
    /// How common the searched words are (for the search's window), read every few minutes.
    search_stats: Arc<search::StatsCache>,
    /// Inbound messages of different threads that arrive together, written together.
    inbound: Arc<threads::InboundCommits>,
    /// Status callbacks of different messages that arrive together, applied together.
    statuses: Arc<threads::StatusCommits>,
    /// The carrier's answers to different threads' sends, recorded together.
    sends: Arc<threads::SendCommits>,
    /// Different threads' claims taken for the carrier together.
    takes: Arc<threads::TakeCommits>,
}

/// The embedded migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl PgStore {
    /// Connects, creating the database first when it does not exist. A call that cannot get a
    /// connection within `acquire_timeout` answers "unavailable" (503), so a dead database makes
    /// requests fail fast instead of stalling.
    pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<PgStore, StoreError> {
        PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)?;
        if !Postgres::database_exists(url).await.map_err(StoreError::Unreachable)? {
            tracing::info!("creating the database");
            Postgres::create_database(url).await.map_err(StoreError::Unreachable)?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect(url)
            .await
            .map_err(StoreError::Unreachable)?;
        Ok(PgStore::from_pool(pool))
    }

    /// A store on an existing pool (tests).
    pub fn from_pool(pool: PgPool) -> PgStore {
        PgStore {
            pool,
            statements: Arc::default(),
            sealer: Arc::new(secrets::Sealer::random()),
            search_stats: Arc::default(),
            inbound: Arc::new(threads::inbound_commits()),
            statuses: Arc::new(threads::status_commits()),
            sends: Arc::new(threads::send_commits()),
            takes: Arc::new(threads::take_commits()),
        }
    }

    /// The same store, sealing secrets with `sealer`.
    pub fn with_sealer(mut self, sealer: secrets::Sealer) -> PgStore {
        self.sealer = Arc::new(sealer);
        self
    }

    /// Seals every auth token still stored in plain text (from before encryption); answers how
    /// many. Idempotent: run at every start.
    pub async fn seal_legacy_tokens(&self) -> Result<u64, StoreError> {
        let plain: Vec<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT id, auth_token FROM channels WHERE auth_token NOT LIKE 'v1:%'").fetch_all(self.db()).await?;
        for (id, token) in &plain {
            sqlx::query("UPDATE channels SET auth_token = $2 WHERE id = $1 AND auth_token = $3")
                .bind(id)
                .bind(self.sealer.seal(token))
                .bind(token)
                .execute(self.db())
                .await?;
        }
        Ok(plain.len() as u64)
    }

    /// Whether this store's key opens the sealed tokens already stored (one is enough to tell): a
    /// node started with another key than the others could not verify a single webhook.
    pub async fn key_opens_stored_tokens(&self) -> Result<bool, StoreError> {
        let sample: Option<String> =
            sqlx::query_scalar("SELECT auth_token FROM channels WHERE auth_token LIKE 'v1:%' LIMIT 1").fetch_optional(self.db()).await?;
        Ok(sample.is_none_or(|sealed| self.sealer.open(&sealed).is_ok()))
    }

    /// Re-seals every auth token under `next` in one transaction (the `rotate-key` command).
    pub async fn reseal_tokens(&self, next: &secrets::Sealer) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as("SELECT id, auth_token FROM channels FOR UPDATE").fetch_all(tx.conn()).await?;
        for (id, stored) in &rows {
            let plain = self.sealer.open(stored)?;
            sqlx::query("UPDATE channels SET auth_token = $2 WHERE id = $1").bind(id).bind(next.seal(&plain)).execute(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// How many statements this store (and its clones) sent, BEGIN and COMMIT included.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    /// The pool, counting each statement.
    pub(crate) fn db(&self) -> Counted<'_, &PgPool> {
        Counted::new(&self.pool, &self.statements)
    }

    /// A transaction, counting each statement.
    pub(crate) async fn begin(&self) -> Result<Tx<'_>, StoreError> {
        Tx::begin(&self.pool, &self.statements).await
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Whether Postgres answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(self.db()).await.is_ok()
    }

    /// The stored value of a server setting, storing `generate()` first if there is none (the
    /// first writer wins when several nodes start at once).
    pub async fn setting_or_init(&self, name: &str, generate: impl FnOnce() -> String) -> Result<String, DomainError> {
        op(async move {
            sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(generate())
                .execute(self.db())
                .await?;
            Ok(sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1").bind(name).fetch_one(self.db()).await?)
        })
        .await
    }

    /// Whether there is no team yet (a fresh database gets the demo team).
    pub async fn is_empty(&self) -> Result<bool, DomainError> {
        op(async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM teams").fetch_one(self.db()).await?;
            Ok(n == 0)
        })
        .await
    }
}

/// A search term as an ILIKE pattern that matches it anywhere, its wildcards escaped.
pub(crate) fn like_pattern(term: &str) -> String {
    format!("%{}%", term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// An opaque keyset cursor: the sort key and the id of the last row of a page.
pub(crate) mod cursor {
    use super::StoreError;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use time::OffsetDateTime;
    use uuid::Uuid;

    pub fn encode(at: OffsetDateTime, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.unix_timestamp_nanos()))
    }

    /// Postgres' timestamptz range in Unix seconds: from 4714-11-24 BC (Julian day 0) up to,
    /// not including, 294277-01-01. A crafted cursor outside it must be the client's error, not
    /// a query that fails inside Postgres.
    const PG_MIN_UNIX_SECS: i128 = -210_866_803_200;
    const PG_END_UNIX_SECS: i128 = 9_224_318_016_000;

    pub fn decode(s: &str) -> Result<(OffsetDateTime, Uuid), StoreError> {
        let bad = || StoreError::Invalid { field: "cursor", message: "is not a cursor this server gave out".into() };
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (at, id) = raw.split_once('|').ok_or_else(bad)?;
        let nanos: i128 = at.parse().map_err(|_| bad())?;
        if !(PG_MIN_UNIX_SECS * 1_000_000_000..PG_END_UNIX_SECS * 1_000_000_000).contains(&nanos) {
            return Err(bad());
        }
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
        Ok((at, id.parse().map_err(|_| bad())?))
    }

    /// A cursor on (rank, instant, id): the inbox by priority.
    pub fn encode_ranked(rank: i16, at: OffsetDateTime, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{rank}|{}|{id}", at.unix_timestamp_nanos()))
    }

    pub fn decode_ranked(s: &str) -> Result<(i16, OffsetDateTime, Uuid), StoreError> {
        let bad = || StoreError::Invalid { field: "cursor", message: "is not a cursor this server gave out".into() };
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
        let (rank, rest) = raw.split_once('|').ok_or_else(bad)?;
        let rank: i16 = rank.parse().map_err(|_| bad())?;
        let (at, id) = decode(&URL_SAFE_NO_PAD.encode(rest))?;
        Ok((rank, at, id))
    }

    /// A cursor on a text key (an order by name).
    pub fn encode_text(key: &str, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{id}|{key}"))
    }

    pub fn decode_text(s: &str) -> Result<(String, Uuid), StoreError> {
        let bad = || StoreError::Invalid { field: "cursor", message: "is not a cursor this server gave out".into() };
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
        let (id, key) = raw.split_once('|').ok_or_else(bad)?;
        if key.contains('\0') {
            return Err(bad());
        }
        Ok((key.to_owned(), id.parse().map_err(|_| bad())?))
    }
}
