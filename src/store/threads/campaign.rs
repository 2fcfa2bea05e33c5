//! A campaign's message to one recipient, stored quietly: one statement links it to the
//! recipient (only under the recipient's current claim), bumps the thread's seq (and nothing the
//! inbox shows: not its activity, preview or unread count), inserts the message already claimed
//! for the carrier (`queued` with `claimed_at`, like an immediate send, so a crash leaves it to
//! the stale sweep, never to a second send) and appends `message.created`. It answers what the
//! carrier needs too (the thread's row already holds the phone, the opt-out and the WhatsApp
//! window; the channel is joined for its token), so the send goes out without a `begin_send`:
//! a campaign's recipient costs two statements of its own (this and the carrier's answer).

use super::rows::{CommittedRow, committed};
use super::sql::{committed_columns, message_json, summary_joins};
use crate::store::channels::{ChannelRow, channel_columns};
use crate::store::{PgStore, StoreError};
use actors::domain::*;
use actors::ids::*;
use actors::ports::*;

const CREATE_CAMPAIGN_MESSAGE: &str = concat!(
    "WITH r AS (
        UPDATE campaign_recipients SET message_id = $1, updated_at = now()
        WHERE id = $5 AND claim_id = $6 AND status = 'sending' AND message_id IS NULL AND campaign_id = $7
        RETURNING campaign_id),
     t AS (
        UPDATE threads SET last_seq = last_seq + 1
        WHERE id = $3 AND team_id = $2 AND EXISTS (SELECT 1 FROM r)
        RETURNING *),
     m AS (
        INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, media, status, author_id, claimed_at, campaign_id,
                              content_sid, content_variables)
        SELECT $1, t.team_id, t.id, 'outbound', ch.kind, $4, '[]', 'queued',
               (SELECT created_by FROM campaigns WHERE id = r.campaign_id), now(), r.campaign_id, $8, $9
        FROM t JOIN channels ch ON ch.id = t.channel_id, r
        RETURNING *),
     e AS (
        INSERT INTO thread_events (thread_id, seq, team_id, type, actor_id, payload)
        SELECT m.thread_id, t.last_seq, m.team_id, 'message.created', m.author_id, ",
    message_json!(),
    " FROM m, t RETURNING *)
     SELECT ",
    committed_columns!(),
    " AS t_scheduled_count, ",
    channel_columns!(),
    " FROM m, e, t",
    summary_joins!()
);

/// The committed message with its channel, for the carrier.
#[derive(sqlx::FromRow)]
struct StoredRow {
    #[sqlx(flatten)]
    committed: CommittedRow,
    #[sqlx(flatten)]
    channel: ChannelRow,
}

/// Stores the message under the claim and answers it with what the carrier needs; `None` when
/// the claim is no longer current.
pub(super) async fn create_campaign_message(
    store: &PgStore,
    m: &CampaignMessage,
) -> Result<Option<(Committed<Message>, Outgoing)>, StoreError> {
    let rows: Vec<StoredRow> = sqlx::query_as(CREATE_CAMPAIGN_MESSAGE)
        .bind(MessageId::new().0)
        .bind(m.team.0)
        .bind(m.thread.0)
        .bind(&m.body)
        .bind(m.recipient)
        .bind(m.claim)
        .bind(m.campaign.0)
        .bind(m.content.as_ref().map(|c| &c.sid))
        .bind(m.content.as_ref().map(|c| sqlx::types::Json(&c.variables)))
        .fetch_all(store.db())
        .await?;
    let mut channel = None;
    let rows = rows
        .into_iter()
        .map(|r| {
            channel.get_or_insert(r.channel);
            r.committed
        })
        .collect();
    let (Some(stored), Some(channel)) = (committed(rows), channel) else { return Ok(None) };
    let channel = channel.open(&store.sealer)?;
    let out = Outgoing {
        message: stored.value.clone(),
        channel,
        to: stored.thread.contact.phone.clone(),
        opted_out: stored.thread.contact.opted_out_at.is_some(),
        last_inbound_at: stored.thread.last_inbound_at,
    };
    Ok(Some((stored, out)))
}
