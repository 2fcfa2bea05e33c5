//! Counting the statements the store sends. Round trips to Postgres are what a busy thread pays
//! for, so they are measured rather than guessed: every query goes through [`Counted`], an
//! `Executor` that counts and delegates, and every transaction through [`Tx`], which counts its
//! BEGIN, its COMMIT, or the ROLLBACK sqlx sends when it is dropped uncommitted. The count is
//! per store (`PgStore::statements`, for tests) and global (`switchboard_db_statements_total`
//! on /metrics).

use super::StoreError;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, Postgres, SqlStr, Transaction};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many statements a store has sent.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("switchboard_db_statements_total").increment(1);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An executor (the pool, or a transaction's connection) that counts each statement it runs.
#[derive(Debug)]
pub(crate) struct Counted<'n, E> {
    inner: E,
    counter: &'n Counter,
}

impl<'n, E> Counted<'n, E> {
    pub(crate) fn new(inner: E, counter: &'n Counter) -> Self {
        Counted { inner, counter }
    }
}

impl<'c, E> Executor<'c> for Counted<'_, E>
where
    E: Executor<'c, Database = Postgres>,
{
    type Database = Postgres;

    // `execute`, `fetch`, `fetch_all` and `fetch_one` all end up in one of these two, once.
    fn fetch_many<'e, 'q: 'e, Q>(self, query: Q) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Postgres>,
    {
        self.counter.bump();
        self.inner.fetch_many(query)
    }

    fn fetch_optional<'e, 'q: 'e, Q>(self, query: Q) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Postgres>,
    {
        self.counter.bump();
        self.inner.fetch_optional(query)
    }

    fn prepare_with<'e>(self, sql: SqlStr, parameters: &'e [PgTypeInfo]) -> BoxFuture<'e, Result<PgStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}

/// A transaction whose BEGIN, COMMIT or ROLLBACK count as statements like any other.
pub(crate) struct Tx<'n> {
    tx: Option<Transaction<'static, Postgres>>,
    counter: &'n Counter,
}

impl<'n> Tx<'n> {
    pub(crate) async fn begin(pool: &sqlx::PgPool, counter: &'n Counter) -> Result<Tx<'n>, StoreError> {
        counter.bump();
        Ok(Tx { tx: Some(pool.begin().await?), counter })
    }

    /// The transaction's connection, for one statement.
    pub(crate) fn conn(&mut self) -> Counted<'n, &mut PgConnection> {
        let conn: &mut PgConnection = self.tx.as_mut().expect("a live transaction");
        Counted::new(conn, self.counter)
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        self.counter.bump();
        self.tx.take().expect("a live transaction").commit().await?;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // Dropped uncommitted: sqlx queues a ROLLBACK on the connection.
        if self.tx.is_some() {
            self.counter.bump();
        }
    }
}
