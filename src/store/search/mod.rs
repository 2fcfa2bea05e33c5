//! Full-text search (one statement): a team's messages and the notes the reader may see, by the
//! stored `search_tsv` and its GIN index; its contacts by name, email (trigram indexes) and
//! phone digits (trigram index), each hit one of the contact's threads. Three branches, each
//! newest first and cut at the page size (keyset on (at, id)), merged and cut again (messages
//! and notes first try the newest rows, see `MESSAGES_WINDOW`); the
//! snippet (`ts_headline`, the expensive part) is made for the page's rows only, with
//! `rules::search`'s markers, and escaped in `rules::search::snippet_html`. Words too rare to
//! fill a page from the newest rows skip that window (`window.rs`).

mod window;

pub(crate) use window::StatsCache;

use super::{PgStore, StoreError, cursor, like_pattern, op};
use actors::DomainResult;
use actors::domain::ContactBrief;
use actors::ids::*;
use actors::ports::{Page, SearchHit, SearchHitKind, SearchReads};
use actors::rules::search::{self as rules, SearchTerms};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;
use window::{SearchStats, WordShares};

#[derive(sqlx::FromRow)]
struct HitRow {
    kind: String,
    thread_id: Uuid,
    message_id: Option<Uuid>,
    note_id: Option<Uuid>,
    at: OffsetDateTime,
    key_id: Uuid,
    snippet: Option<String>,
    contact_id: Uuid,
    contact_name: String,
    contact_phone: String,
    contact_email: Option<String>,
    contact_opted_out_at: Option<OffsetDateTime>,
}

/// `ts_headline`'s options: our markers around matches; a short message whole, a long one cut
/// to about 20 words from its first match (fragment mode drops the words around a lone match).
fn headline_options() -> String {
    format!("StartSel={}, StopSel={}, MaxWords=20, MinWords=8", rules::MARK_START, rules::MARK_END)
}

/// How many of the newest messages a search reads first (unless its rarest word is too rare to
/// fill a page from them: `window.rs`). A word found at least a page's worth of times among them
/// is answered from them alone (their hits are the newest); a rarer one goes through the GIN
/// index, where it has few matches. Either way no plan walks a million rows for
/// a word that is nowhere, or bitmaps a third of the table for "thanks". Measured on 1,000,000
/// messages (docs/benchmarks.md §10): reading 10,000 rows costs a word found nowhere about 8 ms
/// more than 4,000, and answers two words that are each common but rare together (one message
/// in 200) from the window in about 10 ms instead of about 40 ms through the index, whose
/// posting lists for common words are long.
pub(crate) const MESSAGES_WINDOW: i64 = 10_000;
/// The same for notes, fewer per team: a longer window would cost every search that finds no
/// note (a contact's name, most words) without answering more from it.
pub(crate) const NOTES_WINDOW: i64 = 4000;

const SEARCH_SQL: &str = "
WITH m_recent AS (
  SELECT r.thread_id, r.id, r.created_at, r.body FROM (
    SELECT thread_id, id, created_at, body, search_tsv FROM messages
     WHERE $3::text IS NOT NULL AND team_id = $1 AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7))
     ORDER BY created_at DESC, id DESC LIMIT $11) r
   WHERE r.search_tsv @@ to_tsquery('simple', $3)
   ORDER BY r.created_at DESC, r.id DESC LIMIT $8
), m_all AS MATERIALIZED (
  SELECT thread_id, id, created_at, body FROM messages
   WHERE (SELECT count(*) FROM m_recent) < $8
     AND $3::text IS NOT NULL AND team_id = $1 AND search_tsv @@ to_tsquery('simple', $3)
     AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7))
), m_hits AS (
  SELECT * FROM m_recent WHERE (SELECT count(*) FROM m_recent) >= $8
  UNION ALL
  (SELECT * FROM m_all ORDER BY created_at DESC, id DESC LIMIT $8)
), n_recent AS (
  SELECT r.thread_id, r.id, r.created_at, r.body FROM (
    SELECT thread_id, id, created_at, body, search_tsv, visibility, author_id FROM notes
     WHERE $3::text IS NOT NULL AND team_id = $1 AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7))
     ORDER BY created_at DESC, id DESC LIMIT $12) r
   WHERE r.search_tsv @@ to_tsquery('simple', $3) AND (r.visibility = 'public' OR r.author_id = $2)
   ORDER BY r.created_at DESC, r.id DESC LIMIT $8
), n_all AS MATERIALIZED (
  SELECT thread_id, id, created_at, body FROM notes
   WHERE (SELECT count(*) FROM n_recent) < $8
     AND $3::text IS NOT NULL AND team_id = $1 AND search_tsv @@ to_tsquery('simple', $3)
     AND (visibility = 'public' OR author_id = $2)
     AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7))
), n_hits AS (
  SELECT * FROM n_recent WHERE (SELECT count(*) FROM n_recent) >= $8
  UNION ALL
  (SELECT * FROM n_all ORDER BY created_at DESC, id DESC LIMIT $8)
), c_match AS MATERIALIZED (
  SELECT id FROM contacts
   WHERE team_id = $1 AND deleted_at IS NULL
     AND (name ILIKE $4 OR email ILIKE $4 OR ($5::text IS NOT NULL AND phone LIKE $5))
), c_hits AS (
  -- Each matching contact's threads by the (team, contact, channel) key: OFFSET 0 keeps the
  -- planner from hashing every thread of the team instead.
  SELECT t.id AS thread_id, t.at
    FROM c_match CROSS JOIN LATERAL (
      SELECT id, COALESCE(last_message_at, created_at) AS at FROM threads
       WHERE team_id = $1 AND contact_id = c_match.id OFFSET 0) t
   WHERE ($6::timestamptz IS NULL OR (t.at, t.id) < ($6, $7))
   ORDER BY 2 DESC, 1 DESC LIMIT $8
), page AS (
  SELECT * FROM (
    SELECT 'message' AS kind, thread_id, id AS message_id, NULL::uuid AS note_id, created_at AS at, id AS key_id, body FROM m_hits
    UNION ALL
    SELECT 'note', thread_id, NULL, id, created_at, id, body FROM n_hits
    UNION ALL
    SELECT 'contact', thread_id, NULL, NULL, at, thread_id, NULL FROM c_hits
  ) hits ORDER BY at DESC, key_id DESC LIMIT $8
)
SELECT p.kind, p.thread_id, p.message_id, p.note_id, p.at, p.key_id,
       CASE WHEN p.body IS NOT NULL
            THEN ts_headline('simple', translate(p.body, $9, ''), to_tsquery('simple', $3), $10) END AS snippet,
       c.id AS contact_id, c.name AS contact_name, c.phone AS contact_phone, c.email AS contact_email,
       c.opted_out_at AS contact_opted_out_at
  FROM page p JOIN threads t ON t.id = p.thread_id JOIN contacts c ON c.id = t.contact_id
 ORDER BY p.at DESC, p.key_id DESC";

async fn search(
    store: &PgStore,
    team: TeamId,
    viewer: UserId,
    terms: &SearchTerms,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<SearchHit>, StoreError> {
    let after = after.map(cursor::decode).transpose()?;
    let page = limit + 1;
    let (messages_window, notes_window) = store.search_windows(terms, page).await?;
    let markers: String = [rules::MARK_START, rules::MARK_END].iter().collect();
    let mut rows: Vec<HitRow> = sqlx::query_as(SEARCH_SQL)
        .bind(team.0)
        .bind(viewer.0)
        .bind(terms.tsquery.as_deref())
        .bind(like_pattern(&terms.text))
        .bind(terms.digits.as_deref().map(like_pattern))
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(page)
        .bind(markers)
        .bind(headline_options())
        .bind(messages_window)
        .bind(notes_window)
        .fetch_all(store.db())
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more { rows.last().map(|r| cursor::encode(r.at, r.key_id)) } else { None };
    let items = rows
        .into_iter()
        .map(|r| {
            let snippet = match r.snippet {
                Some(marked) => rules::snippet_html(&marked),
                None => rules::contact_snippet(terms, &[&r.contact_name, &r.contact_phone, r.contact_email.as_deref().unwrap_or_default()]),
            };
            SearchHit {
                kind: match r.kind.as_str() {
                    "message" => SearchHitKind::Message,
                    "note" => SearchHitKind::Note,
                    _ => SearchHitKind::Contact,
                },
                thread_id: ThreadId(r.thread_id),
                message_id: r.message_id.map(MessageId),
                note_id: r.note_id.map(NoteId),
                contact: ContactBrief {
                    id: ContactId(r.contact_id),
                    name: r.contact_name,
                    phone: r.contact_phone,
                    opted_out_at: r.contact_opted_out_at,
                },
                snippet,
                at: r.at,
            }
        })
        .collect();
    Ok(Page { items, next_cursor })
}

impl PgStore {
    /// How many of the newest messages and notes a search for `terms` reads first, for a page
    /// of `page` rows (`window.rs`); public for tests and diagnostics.
    pub async fn search_windows(&self, terms: &SearchTerms, page: i64) -> Result<(i64, i64), StoreError> {
        let stats = stats(self).await?;
        Ok((
            stats.messages.window(&terms.words, terms.last_is_prefix, page, MESSAGES_WINDOW),
            stats.notes.window(&terms.words, terms.last_is_prefix, page, NOTES_WINDOW),
        ))
    }
}

/// The node's word statistics, read again when they are old (one statement every few minutes).
async fn stats(store: &PgStore) -> Result<Arc<SearchStats>, StoreError> {
    if let Some(stats) = store.search_stats.fresh() {
        return Ok(stats);
    }
    let rows: Vec<(String, Vec<String>, Vec<f32>, i32)> = sqlx::query_as(
        "SELECT tablename::text, most_common_elems::text::text[], most_common_elem_freqs,
                current_setting('default_statistics_target')::int
           FROM pg_stats
          WHERE schemaname = current_schema() AND tablename IN ('messages', 'notes') AND attname = 'search_tsv'
            AND most_common_elems IS NOT NULL",
    )
    .fetch_all(store.db())
    .await?;
    let mut stats = SearchStats::default();
    for (table, words, freqs, target) in rows {
        let shares = WordShares::from_stats(words, &freqs, target.max(1) as u32);
        match table.as_str() {
            "messages" => stats.messages = shares,
            _ => stats.notes = shares,
        }
    }
    Ok(store.search_stats.put(stats))
}

#[async_trait]
impl SearchReads for PgStore {
    async fn search(
        &self,
        team: TeamId,
        viewer: UserId,
        terms: &SearchTerms,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<SearchHit>> {
        op(search(self, team, viewer, terms, cursor, limit)).await
    }
}
