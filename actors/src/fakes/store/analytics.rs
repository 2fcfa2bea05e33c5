//! `AnalyticsStore` in memory: the dashboard summary (same JSON shape and definitions as the
//! Postgres store's query) and the message export.

use super::{MemoryStore, now};
use crate::domain::{Direction, Message, MessageStatus, ThreadStatus};
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{AnalyticsStore, ExportRow};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// `percentile_cont`: linear interpolation between the closest ranks.
fn percentile(sorted: &[f64], f: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = f * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn summary(&self, team: TeamId) -> DomainResult<Value> {
        self.enter("summary").await?;
        let s = self.state();
        let now = now();
        let threads: Vec<_> = s.threads.values().filter(|t| t.team == team).collect();
        let count_status = |st: ThreadStatus| threads.iter().filter(|t| t.status == st).count();
        let all: Vec<&Message> = s.messages.values().map(|m| &m.msg).filter(|m| m.team_id == team).collect();
        let week: Vec<&Message> = all.iter().copied().filter(|m| m.created_at > now - Duration::days(7)).collect();
        let day = |m: &&Message| m.created_at > now - Duration::days(1);
        let outbound = |m: &&Message| m.direction == Direction::Outbound;
        let inbound_24h = week.iter().filter(|m| m.direction == Direction::Inbound && day(m)).count();
        let outbound_24h = week
            .iter()
            .filter(|m| outbound(m) && !matches!(m.status, MessageStatus::Scheduled | MessageStatus::Canceled) && day(m))
            .count();
        let delivered = |m: &&Message| matches!(m.status, MessageStatus::Delivered | MessageStatus::Read);
        let failed = |m: &&Message| matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered);
        let delivered_7d = week.iter().filter(|m| outbound(m) && delivered(m)).count();
        let failed_7d = week.iter().filter(|m| outbound(m) && failed(m)).count();
        let finished_7d = delivered_7d + failed_7d;
        // First response: for each inbound message of the last 7 days that opens a turn (no
        // earlier unanswered inbound within 7 days), the time until the team's next outbound one.
        let of_thread = |t: ThreadId| all.iter().copied().filter(move |m| m.thread_id == t);
        let mut waits: Vec<f64> = week
            .iter()
            .filter(|i| i.direction == Direction::Inbound)
            .filter(|i| {
                !of_thread(i.thread_id).any(|p| {
                    p.direction == Direction::Inbound
                        && p.created_at < i.created_at
                        && p.created_at > i.created_at - Duration::days(7)
                        && !of_thread(i.thread_id).any(|q| outbound(&q) && q.created_at > p.created_at && q.created_at < i.created_at)
                })
            })
            .filter_map(|i| {
                of_thread(i.thread_id)
                    .filter(|o| outbound(o) && o.created_at > i.created_at)
                    .filter(|o| !matches!(o.status, MessageStatus::Scheduled | MessageStatus::Canceled))
                    .map(|o| o.created_at)
                    .min()
                    .map(|answered| (answered - i.created_at).as_seconds_f64())
            })
            .collect();
        waits.sort_by(f64::total_cmp);
        let rate = (finished_7d > 0).then(|| delivered_7d as f64 / finished_7d as f64);
        Ok(json!({
            "threads": { "open": count_status(ThreadStatus::Open), "pending": count_status(ThreadStatus::Pending),
                         "resolved": count_status(ThreadStatus::Resolved), "snoozed": count_status(ThreadStatus::Snoozed),
                         "unread": threads.iter().filter(|t| t.unread > 0).count(),
                         "unassigned_open": threads.iter().filter(|t| t.status == ThreadStatus::Open && t.assignee.is_none()).count() },
            "messages_24h": { "inbound": inbound_24h, "outbound": outbound_24h },
            "delivery_7d": { "delivered": delivered_7d, "failed": failed_7d, "rate": rate },
            "first_response_7d": { "median_seconds": percentile(&waits, 0.5), "p90_seconds": percentile(&waits, 0.9) },
            "scheduled_pending": all.iter().filter(|m| m.status == MessageStatus::Scheduled).count(),
        }))
    }

    async fn export(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ExportRow>> {
        self.enter("export").await?;
        let s = self.state();
        let mut rows: Vec<(&Message, &crate::domain::Contact)> = s
            .messages
            .values()
            .map(|m| &m.msg)
            .filter(|m| m.team_id == team && m.created_at >= since)
            .filter_map(|m| s.threads.get(&m.thread_id).and_then(|t| s.contacts.get(&t.contact)).map(|c| (m, c)))
            .collect();
        rows.sort_by_key(|(m, _)| (m.created_at, m.id));
        Ok(rows
            .into_iter()
            .take(limit.max(0) as usize)
            .map(|(m, c)| ExportRow {
                created_at: m.created_at,
                thread_id: m.thread_id,
                contact_name: c.name.clone(),
                contact_phone: c.phone.clone(),
                channel: m.channel,
                direction: m.direction,
                status: m.status,
                body: m.body.clone(),
                error_code: m.error_code,
                error_reason: m.error_reason.clone(),
            })
            .collect())
    }
}
