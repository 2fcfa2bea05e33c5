//! The inbox side of threads: listing and finding threads (for a contact, for an inbound
//! message, for a message), a thread's messages page, and the thread's own workflow state
//! (read, status, assignee). Message and note writes live in their own files. The inbox's search
//! matches names, phones (digits too) and emails, and message text (`rules::search`).

use super::events::{append_event, summary};
use super::rows::{MESSAGE_COLUMNS, MessageRow, SummaryRow, summary_sql};
use super::sql::{scheduled_count, summary_columns, summary_joins};
use crate::store::Tx;
use crate::store::contacts::page;
use crate::store::{PgStore, StoreError, cursor, like_pattern, not_found};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;
use actors::rules::views::{Sort, View};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// The search's message text, bounded as `GET /api/search`'s own query is (src/store/search.rs):
/// the threads of the newest 4,000 messages that match (it reads its whole window: every match
/// names a thread, so it is smaller than the search page's), or of every match when fewer than
/// 21 of those do (a rare word, which the GIN index has few of). Joined by hash, never a subplan
/// inside the filter's OR, which Postgres cannot hash for a common word and then rescans per
/// thread (9.8 s for "thanks" at 1,000,000 messages). Pushes the `WITH` that names `text_hits`.
fn push_text_hits(q: &mut QueryBuilder<Postgres>, team: TeamId, tsquery: &str) {
    q.push("WITH recent AS (SELECT r.thread_id FROM (SELECT thread_id, search_tsv FROM messages WHERE team_id = ").push_bind(team.0);
    q.push(" ORDER BY created_at DESC, id DESC LIMIT 4000) r WHERE r.search_tsv @@ to_tsquery('simple', ").push_bind(tsquery.to_owned());
    q.push(
        ")), text_hits AS MATERIALIZED (SELECT DISTINCT thread_id FROM (SELECT thread_id FROM recent UNION ALL
         SELECT m.thread_id FROM messages m WHERE (SELECT count(*) FROM recent) < 21 AND m.team_id = ",
    );
    q.push_bind(team.0).push(" AND m.search_tsv @@ to_tsquery('simple', ").push_bind(tsquery.to_owned()).push(")) x) ");
}

/// The inbox, keyset-paged (one statement): newest activity first, or by priority (highest
/// first, then newest). Each row says whether `viewer` marked it unread.
///
/// The statement holds only the filters that apply, so each combination is its own prepared
/// statement whose cached plan fits it: the plain inbox (the request every agent's page makes,
/// again after each event) is planned once per connection, not each time (planning the
/// all-filters statement cost about 1 ms warm and 2.4 ms under a campaign's load, more than
/// running it; benchmarks §19). A generic plan of the all-filters statement could not see which
/// filters applied and left the `listed` partial index (§11c); these see exactly theirs. A
/// search (patterns and a tsquery, different each time) is still planned for its values.
pub(super) async fn list_threads(store: &PgStore, team: TeamId, f: &ThreadFilter) -> Result<Page<ThreadSummary>, StoreError> {
    let ranked = f.sort == Sort::Priority;
    let after: Option<(i16, OffsetDateTime, Uuid)> = match f.cursor.as_deref() {
        None => None,
        Some(c) if ranked => Some(cursor::decode_ranked(c)?),
        Some(c) => cursor::decode(c).map(|(at, id)| Some((0, at, id)))?,
    };
    // The search box also finds message text and phone fragments typed with spaces or dashes.
    let terms = f.search.as_deref().and_then(|q| actors::rules::search::terms(q).ok());
    let digits = terms.as_ref().and_then(|t| t.digits.as_deref()).map(like_pattern);
    let tsquery = terms.and_then(|t| t.tsquery);

    let mut q = QueryBuilder::<Postgres>::new("");
    if let Some(ts) = &tsquery {
        push_text_hits(&mut q, team, ts);
    }
    q.push(concat!(
        "SELECT ",
        summary_columns!(),
        ", ",
        scheduled_count!(),
        " AS t_scheduled_count, EXISTS (SELECT 1 FROM thread_unread_marks um WHERE um.thread_id = t.id AND um.user_id = "
    ));
    q.push_bind(f.viewer.map(|v| v.0)).push(concat!(") AS t_marked_unread FROM threads t", summary_joins!()));
    if tsquery.is_some() {
        q.push(" LEFT JOIN text_hits th ON th.thread_id = t.id");
    }
    // A thread a campaign created stays out until it has activity (see `threads.listed`).
    q.push(" WHERE t.team_id = ").push_bind(team.0).push(" AND t.listed");
    if f.unread {
        q.push(" AND (t.unread_count > 0 OR EXISTS (SELECT 1 FROM thread_unread_marks um WHERE um.thread_id = t.id AND um.user_id = ");
        q.push_bind(f.viewer.map(|v| v.0)).push("))");
    }
    if f.scheduled {
        q.push(" AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.status = 'scheduled')");
    }
    if let Some(kind) = f.channel {
        q.push(" AND ch.kind = ").push_bind(kind.as_str());
    }
    if let Some(status) = f.status {
        q.push(" AND t.status = ").push_bind(status.as_str());
    }
    if let Some(assignee) = f.assignee {
        q.push(" AND t.assignee_id = ").push_bind(assignee.0);
    }
    if f.unassigned {
        q.push(" AND t.assignee_id IS NULL");
    }
    if let Some(search) = f.search.as_deref() {
        let pattern = like_pattern(search);
        q.push(" AND (c.name ILIKE ").push_bind(pattern.clone()).push(" OR c.phone LIKE ").push_bind(pattern.clone());
        q.push(" OR c.email ILIKE ").push_bind(pattern);
        if let Some(digits) = digits {
            q.push(" OR c.phone LIKE ").push_bind(digits);
        }
        if tsquery.is_some() {
            q.push(" OR th.thread_id IS NOT NULL");
        }
        q.push(")");
    }
    if let Some(contact) = f.contact {
        q.push(" AND t.contact_id = ").push_bind(contact.0);
    }
    if let Some(view) = f.view.filter(|v| *v != View::All) {
        let statuses: Vec<&str> = view.statuses().iter().map(|s| s.as_str()).collect();
        q.push(" AND t.status = ANY(").push_bind(statuses).push(")");
    }
    if let Some(label) = f.label {
        q.push(" AND EXISTS (SELECT 1 FROM thread_labels tl WHERE tl.thread_id = t.id AND tl.label_id = ").push_bind(label.0).push(")");
    }
    if let Some(priority) = f.priority {
        q.push(" AND t.priority = ").push_bind(priority.rank());
    }
    match after {
        Some((rank, at, id)) if ranked => {
            q.push(" AND (t.priority, COALESCE(t.last_message_at, t.created_at), t.id) < (").push_bind(rank);
            q.push(", ").push_bind(at).push(", ").push_bind(id).push(")");
        }
        Some((_, at, id)) => {
            q.push(" AND (COALESCE(t.last_message_at, t.created_at), t.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        None => {}
    }
    q.push(if ranked {
        " ORDER BY t.priority DESC, COALESCE(t.last_message_at, t.created_at) DESC, t.id DESC"
    } else {
        " ORDER BY COALESCE(t.last_message_at, t.created_at) DESC, t.id DESC"
    });
    // A number of our own (1..=201), written in: a generic plan then knows how few rows it
    // needs and walks the index in order.
    q.push(format_args!(" LIMIT {}", f.limit + 1));
    let rows: Vec<SummaryRow> = q.build_query_as().persistent(f.search.is_none()).fetch_all(store.db()).await?;
    Ok(page(rows, f.limit, |r| {
        let at = r.activity();
        if ranked { cursor::encode_ranked(r.rank(), at, r.id) } else { cursor::encode(at, r.id) }
    }))
}

/// One thread's inbox row (one statement).
pub(super) async fn thread(store: &PgStore, team: TeamId, id: ThreadId) -> Result<ThreadSummary, StoreError> {
    summary(store.db(), team, id).await
}

/// A thread's messages, newest first, keyset-paged (one statement).
pub(super) async fn messages(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Message>, StoreError> {
    let after = after.map(cursor::decode).transpose()?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE team_id = $1 AND thread_id = $2 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ));
    let rows: Vec<MessageRow> = sqlx::query_as(sql)
        .bind(team.0)
        .bind(thread.0)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit + 1)
        .fetch_all(store.db())
        .await?;
    Ok(page(rows, limit, |r| cursor::encode(r.created_at, r.id)))
}

/// The contact's thread on the chosen `number`, else on the team's first live channel of
/// `kind`, created if missing (one transaction).
pub(super) async fn thread_for_contact(
    store: &PgStore,
    team: TeamId,
    contact: ContactId,
    kind: ChannelKind,
    number: Option<ChannelId>,
) -> Result<(ThreadId, bool), StoreError> {
    let mut tx = store.begin().await?;
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM contacts WHERE team_id = $1 AND id = $2")
        .bind(team.0)
        .bind(contact.0)
        .fetch_optional(tx.conn())
        .await?;
    exists.ok_or(StoreError::NotFound("contact"))?;
    // The chosen number, else the team's first live channel of that kind (real numbers before
    // simulated ones).
    let channel: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM channels WHERE team_id = $1 AND kind = $2 AND deleted_at IS NULL AND ($3::uuid IS NULL OR id = $3)
         ORDER BY simulated, created_at LIMIT 1",
    )
    .bind(team.0)
    .bind(kind.as_str())
    .bind(number.map(|n| n.0))
    .fetch_optional(tx.conn())
    .await?;
    let channel = channel.ok_or_else(|| match number {
        Some(_) => StoreError::invalid("channel_id", format!("not a {kind} number of the team")),
        None => StoreError::invalid("channel", format!("the team has no {kind} number")),
    })?;
    let result = upsert_thread(&mut tx, team, ContactId(contact.0), ChannelId(channel)).await?;
    tx.commit().await?;
    Ok(result)
}

/// The thread of an inbound message: the contact and the thread, each created if new.
///
/// A known sender (the common case) costs one statement that writes nothing. A new one is
/// created with get-or-create steps that stay correct when the same new number sends a burst of
/// concurrent messages: `INSERT … ON CONFLICT DO NOTHING` waits for a concurrent insert of the
/// same key to commit and then inserts nothing, and the *next* statement (a fresh snapshot under
/// READ COMMITTED) sees the row it committed. A single `INSERT … UNION ALL SELECT` statement
/// would not: its SELECT shares the INSERT's snapshot and misses that row.
pub(super) async fn thread_for_inbound(
    store: &PgStore,
    team: TeamId,
    channel: ChannelId,
    phone: &str,
    profile_name: Option<&str>,
) -> Result<(ThreadId, bool), StoreError> {
    let profile = profile_name.map(|n| n.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    let known: Option<(Uuid, Option<Uuid>, bool, bool)> = sqlx::query_as(
        "SELECT c.id, t.id, c.name = '', c.deleted_at IS NOT NULL FROM contacts c
         LEFT JOIN threads t ON t.team_id = c.team_id AND t.contact_id = c.id AND t.channel_id = $3
         WHERE c.team_id = $1 AND c.phone = $2",
    )
    .bind(team.0)
    .bind(phone)
    .bind(channel.0)
    .fetch_optional(store.db())
    .await?;
    // An existing contact is not rewritten on every message (a write and a dead row each time):
    // only an empty name takes the WhatsApp profile name, and a deleted contact comes back.
    if let Some((_, Some(thread), unnamed, false)) = known
        && !(unnamed && profile.is_some())
    {
        return Ok((ThreadId(thread), false));
    }
    let mut tx = store.begin().await?;
    let contact = match known {
        Some((contact, _, _, deleted)) => {
            if deleted {
                sqlx::query("UPDATE contacts SET deleted_at = NULL, updated_at = now() WHERE id = $1")
                    .bind(contact)
                    .execute(tx.conn())
                    .await?;
            }
            contact
        }
        None => {
            let inserted: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO contacts (id, team_id, phone, name, source) VALUES ($1, $2, $3, COALESCE($4, ''), 'inbound')
                 ON CONFLICT (team_id, phone) DO NOTHING RETURNING id",
            )
            .bind(ContactId::new().0)
            .bind(team.0)
            .bind(phone)
            .bind(&profile)
            .fetch_optional(tx.conn())
            .await?;
            match inserted {
                Some(id) => id,
                None => {
                    sqlx::query_scalar("SELECT id FROM contacts WHERE team_id = $1 AND phone = $2")
                        .bind(team.0)
                        .bind(phone)
                        .fetch_one(tx.conn())
                        .await?
                }
            }
        }
    };
    if let Some(name) = &profile {
        sqlx::query("UPDATE contacts SET name = $2, updated_at = now() WHERE id = $1 AND name = ''")
            .bind(contact)
            .bind(name)
            .execute(tx.conn())
            .await?;
    }
    let result = upsert_thread(&mut tx, team, ContactId(contact), channel).await?;
    tx.commit().await?;
    Ok(result)
}

/// A thread's inbox row, any team: what a thread actor loads when it starts (one statement).
pub(super) async fn load_thread(store: &PgStore, thread: ThreadId) -> Result<Option<ThreadSummary>, StoreError> {
    let row: Option<SummaryRow> = sqlx::query_as(summary_sql!("WHERE t.id = $1")).bind(thread.0).fetch_optional(store.db()).await?;
    Ok(row.map(ThreadSummary::from))
}

/// The thread of a message of the team (one statement).
pub(super) async fn message_thread(store: &PgStore, team: TeamId, message: MessageId) -> Result<ThreadId, StoreError> {
    let id: Uuid = sqlx::query_scalar("SELECT thread_id FROM messages WHERE team_id = $1 AND id = $2")
        .bind(team.0)
        .bind(message.0)
        .fetch_one(store.db())
        .await
        .map_err(not_found("message"))?;
    Ok(ThreadId(id))
}

/// Resets the unread count and takes off the reader's own unread mark (one transaction).
pub(super) async fn mark_read(store: &PgStore, team: TeamId, thread: ThreadId, reader: UserId) -> Result<ThreadSummary, StoreError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query("UPDATE threads SET unread_count = 0 WHERE team_id = $1 AND id = $2")
        .bind(team.0)
        .bind(thread.0)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("thread"));
    }
    sqlx::query("DELETE FROM thread_unread_marks WHERE user_id = $1 AND thread_id = $2")
        .bind(reader.0)
        .bind(thread.0)
        .execute(tx.conn())
        .await?;
    let s = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(ThreadSummary { marked_unread: Some(false), ..s })
}

/// Changes status and/or assignee and appends `thread.updated` (one transaction).
pub(super) async fn update_thread(
    store: &PgStore,
    team: TeamId,
    thread: ThreadId,
    actor: Option<UserId>,
    change: ThreadChange,
) -> Result<Committed<ThreadSummary>, StoreError> {
    let ThreadChange { status, snoozed_until, assignee, priority, labels, add_labels } = change;
    let mut tx = store.begin().await?;
    if let Some(Some(user)) = assignee {
        // Only an active member of the same team can be assigned.
        let ok: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE team_id = $1 AND id = $2 AND deactivated_at IS NULL")
            .bind(team.0)
            .bind(user.0)
            .fetch_optional(tx.conn())
            .await?;
        ok.ok_or_else(|| StoreError::invalid("assignee_id", "is not a member of this team"))?;
    }
    let done = sqlx::query(
        "UPDATE threads SET status = COALESCE($3, status), assignee_id = CASE WHEN $4 THEN $5 ELSE assignee_id END,
            snoozed_until = CASE WHEN $3::text IS NULL THEN snoozed_until WHEN $3 = 'snoozed' THEN $6 END,
            priority = COALESCE($7, priority)
         WHERE team_id = $1 AND id = $2",
    )
    .bind(team.0)
    .bind(thread.0)
    .bind(status.map(ThreadStatus::as_str))
    .bind(assignee.is_some())
    .bind(assignee.flatten().map(|a| a.0))
    .bind(snoozed_until)
    .bind(priority.map(Priority::rank))
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("thread"));
    }
    super::labels::set_thread_labels(&mut tx, team, thread, labels.as_deref(), &add_labels).await?;
    let s = summary(tx.conn(), team, thread).await?;
    let data = serde_json::to_value(&s)?;
    let event = append_event(&mut tx, team, thread, event::THREAD_UPDATED, actor, None, data).await?;
    let s = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(Committed { value: s.clone(), events: vec![event], thread: s })
}

/// Opens a snoozed thread whose end has come, in the statement that checks it (so of several
/// nodes waking it, one does), and appends `thread.updated` with no actor.
pub(super) async fn wake_thread(store: &PgStore, thread: ThreadId) -> Result<Option<Committed<ThreadSummary>>, StoreError> {
    let mut tx = store.begin().await?;
    let team: Option<Uuid> = sqlx::query_scalar(
        "UPDATE threads SET status = 'open', snoozed_until = NULL
         WHERE id = $1 AND status = 'snoozed' AND snoozed_until <= now() RETURNING team_id",
    )
    .bind(thread.0)
    .fetch_optional(tx.conn())
    .await?;
    let Some(team) = team.map(TeamId) else { return Ok(None) };
    let s = summary(tx.conn(), team, thread).await?;
    let data = serde_json::to_value(&s)?;
    let event = append_event(&mut tx, team, thread, event::THREAD_UPDATED, None, None, data).await?;
    let s = summary(tx.conn(), team, thread).await?;
    tx.commit().await?;
    Ok(Some(Committed { value: s.clone(), events: vec![event], thread: s }))
}

/// The thread of (team, contact, channel), created if missing; says whether it was created.
pub(super) async fn upsert_thread(
    tx: &mut Tx<'_>,
    team: TeamId,
    contact: ContactId,
    channel: ChannelId,
) -> Result<(ThreadId, bool), StoreError> {
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO threads (id, team_id, contact_id, channel_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, contact_id, channel_id) DO NOTHING RETURNING id",
    )
    .bind(ThreadId::new().0)
    .bind(team.0)
    .bind(contact.0)
    .bind(channel.0)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = inserted {
        return Ok((ThreadId(id), true));
    }
    let id: Uuid = sqlx::query_scalar("SELECT id FROM threads WHERE team_id = $1 AND contact_id = $2 AND channel_id = $3")
        .bind(team.0)
        .bind(contact.0)
        .bind(channel.0)
        .fetch_one(tx.conn())
        .await?;
    Ok((ThreadId(id), false))
}
