//! SQL fragments the single-statement writers share. A hot write (a send, a status callback, an
//! inbound message) is one statement: data-modifying CTEs bump the thread's `last_seq`, change
//! the message and append its event, and the final SELECT returns the message, the events and
//! the thread's new inbox row together. These macros spell the parts that every such statement
//! repeats, so each is written once:
//!
//! - `message_json!()`: the event payload of the message row aliased `m`, built in SQL because the
//!   row's new values only exist inside the statement. It must equal `serde_json::to_value` of
//!   the domain `Message` (timestamps as RFC 3339 in UTC with trailing zeros trimmed, like
//!   `time`'s formatter); the store tests compare the two for every writer.
//! - `message_columns!()`, `event_columns!()`, `summary_columns!()`: the select lists of a
//!   [`CommittedRow`](super::rows::CommittedRow): the message as `m`, the event as `e`
//!   (`e_`-prefixed), the thread as `t` with `c` (contact), `ch` (channel), `u` (assignee)
//!   (`t_`-prefixed).

/// An RFC 3339 UTC timestamp of a `timestamptz` column, as `time` formats it.
macro_rules! rfc3339 {
    ($col:literal) => {
        concat!(r#"regexp_replace(to_char("#, $col, r#" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '') || 'Z'"#)
    };
}
pub(crate) use rfc3339;

/// The `Message` JSON of the row aliased `m`.
macro_rules! message_json {
    () => {
        concat!(
            "jsonb_build_object(
                'id', m.id, 'team_id', m.team_id, 'thread_id', m.thread_id, 'direction', m.direction,
                'channel', m.channel_kind, 'body', m.body, 'media', m.media, 'status', m.status,
                'provider_sid', m.provider_sid, 'error_code', m.error_code, 'error_reason', m.error_reason,
                'author_id', m.author_id, 'scheduled_at', ",
            $crate::store::threads::sql::rfc3339!("m.scheduled_at"),
            ", 'cancel_on_reply', m.cancel_on_reply, 'sent_at', ",
            $crate::store::threads::sql::rfc3339!("m.sent_at"),
            ", 'delivered_at', ",
            $crate::store::threads::sql::rfc3339!("m.delivered_at"),
            ", 'read_at', ",
            $crate::store::threads::sql::rfc3339!("m.read_at"),
            ", 'created_at', ",
            $crate::store::threads::sql::rfc3339!("m.created_at"),
            ") || CASE WHEN m.content_sid IS NULL THEN '{}'::jsonb
                  ELSE jsonb_build_object('content', jsonb_build_object('sid', m.content_sid, 'variables', coalesce(m.content_variables, '{}'::jsonb))) END"
        )
    };
}
pub(crate) use message_json;

/// The `Message::status_change` JSON of the row aliased `m`: what a carrier's status callback
/// moves, with the message's identity and author, nulls left out.
macro_rules! status_json {
    () => {
        concat!(
            "jsonb_strip_nulls(jsonb_build_object(
                'id', m.id, 'thread_id', m.thread_id, 'status', m.status, 'error_code', m.error_code,
                'error_reason', m.error_reason, 'author_id', m.author_id, 'sent_at', ",
            $crate::store::threads::sql::rfc3339!("m.sent_at"),
            ", 'delivered_at', ",
            $crate::store::threads::sql::rfc3339!("m.delivered_at"),
            ", 'read_at', ",
            $crate::store::threads::sql::rfc3339!("m.read_at"),
            "))"
        )
    };
}
pub(crate) use status_json;

/// The `Message::answer_change` JSON of the row aliased `m`: the carrier's answer to a send, its
/// status change and the sid it gave.
macro_rules! answer_json {
    () => {
        concat!($crate::store::threads::sql::status_json!(), " || jsonb_strip_nulls(jsonb_build_object('provider_sid', m.provider_sid))")
    };
}
pub(crate) use answer_json;

/// The columns of a `MessageRow`, from the row aliased `m`.
macro_rules! message_columns {
    () => {
        "m.id, m.team_id, m.thread_id, m.direction, m.channel_kind, m.body, m.media, m.status, m.provider_sid, m.error_code,
         m.error_reason, m.author_id, m.scheduled_at, m.cancel_on_reply, m.sent_at, m.delivered_at, m.read_at, m.created_at,
         m.content_sid, m.content_variables"
    };
}
pub(crate) use message_columns;

/// The columns of an `EventRow`, from the row aliased `e`.
macro_rules! event_columns {
    () => {
        "e.thread_id AS e_thread_id, e.seq AS e_seq, e.team_id AS e_team_id, e.type AS e_type, e.actor_id AS e_actor_id,
         e.audience AS e_audience, e.payload AS e_payload, e.created_at AS e_created_at"
    };
}
pub(crate) use event_columns;

/// The columns of a `SummaryRow` but its scheduled count, from `t`, `c`, `ch` and `u`.
macro_rules! summary_columns {
    () => {
        "t.id AS t_id, t.team_id AS t_team_id, t.status AS t_status, t.snoozed_until AS t_snoozed_until, t.assignee_id AS t_assignee_id,
         u.name AS t_assignee_name, t.unread_count AS t_unread_count, t.last_message_at AS t_last_message_at,
         t.last_preview AS t_last_preview, t.last_seq AS t_last_seq, t.created_at AS t_created_at,
         c.id AS t_contact_id, c.name AS t_contact_name, c.phone AS t_contact_phone, c.opted_out_at AS t_contact_opted_out_at,
         ch.id AS t_channel_id, ch.kind AS t_channel_kind, ch.number AS t_channel_number, t.priority AS t_priority,
         ARRAY(SELECT tl.label_id FROM thread_labels tl WHERE tl.thread_id = t.id ORDER BY tl.label_id) AS t_label_ids,
         t.last_inbound_at AS t_last_inbound_at"
    };
}
pub(crate) use summary_columns;

/// The thread's scheduled messages as the statement's snapshot sees them (what the statement
/// itself schedules or cancels is added by the caller).
macro_rules! scheduled_count {
    () => {
        "(SELECT count(*) FROM messages s WHERE s.thread_id = t.id AND s.status = 'scheduled')"
    };
}
pub(crate) use scheduled_count;

/// The select list of a `CommittedRow` (message `m`, event `e`, thread `t` and its joins), up to
/// the thread's scheduled count, which the caller adjusts for what the statement itself
/// scheduled or canceled and names `t_scheduled_count`.
macro_rules! committed_columns {
    () => {
        concat!(
            $crate::store::threads::sql::message_columns!(),
            ", ",
            $crate::store::threads::sql::event_columns!(),
            ", ",
            $crate::store::threads::sql::summary_columns!(),
            ", ",
            $crate::store::threads::sql::scheduled_count!()
        )
    };
}
pub(crate) use committed_columns;

/// The joins behind `summary_columns!()` for a thread row `t` (a table or a CTE).
macro_rules! summary_joins {
    () => {
        " JOIN contacts c ON c.id = t.contact_id JOIN channels ch ON ch.id = t.channel_id LEFT JOIN users u ON u.id = t.assignee_id "
    };
}
pub(crate) use summary_joins;

/// The end of a statement whose CTE `m` changed one message's status: bumps the thread's seq
/// (`t`), appends `message.updated` with what changed (`answer_json`, `e`), and answers the
/// message, the event and the thread's new inbox row (a `CommittedRow`), plus the `$extra`
/// columns.
macro_rules! message_updated_tail {
    ($extra:literal) => {
        concat!(
            "t AS (UPDATE threads SET last_seq = last_seq + 1 FROM m WHERE threads.id = m.thread_id RETURNING threads.*),
     e AS (INSERT INTO thread_events (thread_id, seq, team_id, type, payload)
           SELECT m.thread_id, t.last_seq, m.team_id, 'message.updated', ",
            $crate::store::threads::sql::answer_json!(),
            " FROM m, t RETURNING *)
     SELECT ",
            $crate::store::threads::sql::committed_columns!(),
            " AS t_scheduled_count",
            $extra,
            " FROM m, e, t",
            $crate::store::threads::sql::summary_joins!()
        )
    };
}
pub(crate) use message_updated_tail;

/// For a CTE `$changed` of changed messages (of several threads): `g` counts them per thread,
/// `lk` locks their threads in id order before any is changed (so two batches that share
/// threads, on one node or two, wait for each other instead of deadlocking), and `t` bumps each
/// thread's seq by its count (`t.n`: its events take the seqs `t.last_seq - t.n + 1 ..=
/// t.last_seq`). Ends with a comma.
macro_rules! bump_seqs {
    ($changed:literal) => {
        concat!(
            "g AS (SELECT thread_id, count(*) AS n FROM ",
            $changed,
            " GROUP BY thread_id),
     lk AS MATERIALIZED (
        SELECT id FROM threads WHERE id = ANY(ARRAY(SELECT thread_id FROM g)) ORDER BY id FOR UPDATE),
     t AS (
        UPDATE threads SET last_seq = last_seq + g.n FROM g
        WHERE threads.id = g.thread_id AND threads.id = ANY(ARRAY(SELECT id FROM lk))
        RETURNING threads.*, g.n),"
        )
    };
}
pub(crate) use bump_seqs;
