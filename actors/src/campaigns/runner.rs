//! The campaign runner: on every node with a scheduler, one owned task that sends running
//! campaigns at their pace.
//!
//! Every tick it asks each running campaign's sender limiter (governor, one per sender at the
//! campaign pace of its kind: a share of the sender's budget, so agents' own sends on the number
//! keep the rest) how many messages may go now, takes that many of the sender's pace shared by
//! every node (a row per sender in Postgres: two nodes together keep to one pace), claims that
//! many queued recipients in Postgres
//! (`FOR UPDATE SKIP LOCKED`: any node, each recipient once), renders the body for each, and
//! hands each to its thread's actor with one of the node's send slots. The actor stores the
//! message quietly and sends it through the normal send path. Claiming only what may go now
//! keeps memory constant whatever the audience, and makes a pause take effect within a tick.
//!
//! Each second it also starts scheduled campaigns whose time has come, puts claims that never
//! became a message back in the queue (their node died before storing it: nothing was sent),
//! and finishes campaigns with nothing left; every half second it publishes the counts of the
//! campaigns that moved (`campaign.updated`, one node per campaign per interval).
//!
//! Quiet hours: a claimed recipient for whom it is quiet (in any of its contact's zones,
//! `rules::quiet_hours`) goes back to the queue held until its morning (`not_before`); the claim
//! never reads it again before then (the queue's index is in `not_before` order). The rate
//! tokens it took are used for the next ones: the runner claims again, more each round (up to
//! `HOLD_ROUNDS`, `MAX_BATCH` each), so a campaign whose next thousand contacts are asleep still
//! sends to the awake ones behind them within a few ticks; recipients claimed beyond what may go
//! now go back as they were.
//!
//! Agents first: a campaign uses a share of its pace (`rules::campaigns::next_share`), halved
//! each tick in which an agent's request was slow (on this node, or on any other: each runner
//! marks a shared row when its own agents were, `agents_slowed`) or the runner's own claim was
//! (the machine or the database is busy), and grown back while neither was. A campaign never stops for it: at worst it
//! crawls at `MIN_SHARE` of its pace.
//!
//! While no campaign runs it only does that once a second (a campaign started on another node
//! is found then), unless a start or resume on this node wakes it: an idle node costs the
//! database a few statements a second, not a dozen.

use super::Campaigns;
use super::content::Content;
use crate::agent_load::AgentLoad;
use crate::domain::{Channel, Team, User};
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{CampaignMessage, CampaignStore, Store};
use crate::rules::campaigns::{self as rules, Campaign, CampaignCounts, CampaignPace, skip};
use crate::rules::quiet_hours::{self, QuietWindow};
use crate::send_guard;
use crate::thread::CampaignSend;
use crate::threads::Threads;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Recipients one claim takes at most.
const MAX_BATCH: usize = 200;
/// Claims a tick may make for one campaign when quiet hours held what it claimed.
const HOLD_ROUNDS: usize = 5;
/// Housekeeping runs every this many ticks; metrics every `METRICS_TICKS`.
const HOUSEKEEPING_TICKS: u64 = 10;
const METRICS_TICKS: u64 = 5;
/// The count rows of connections that are gone are folded every this many ticks (a minute).
const FOLD_TICKS: u64 = 600;

/// What the runner needs.
pub struct RunnerCtx {
    pub campaigns: Arc<Campaigns>,
    pub store: Arc<dyn CampaignStore>,
    pub reads: Arc<dyn Store>,
    pub threads: Arc<Threads>,
    /// The node's send slots (shared with the scheduler).
    pub slots: Arc<Semaphore>,
    pub pace: CampaignPace,
    /// `SEND_RATE_PER_SECOND`: the sender's whole budget.
    pub sender_rate: f64,
    /// A claim that did not become a message in this long is put back.
    pub stale_after: Duration,
    pub tick: Duration,
    /// How this node's agent requests fare (recorded by the edge).
    pub agent_load: Arc<AgentLoad>,
}

/// Starts the runner as a task of `tasks`; it stops when `shutdown` is cancelled.
pub fn spawn(ctx: RunnerCtx, tasks: &TaskTracker, shutdown: CancellationToken) {
    tasks.spawn(async move {
        let mut runner = Runner {
            ctx,
            limiters: HashMap::new(),
            prepared: HashMap::new(),
            published: HashMap::new(),
            share: 1.0,
            claim_took: Duration::ZERO,
        };
        let mut tick = tokio::time::interval(runner.ctx.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let campaigns = runner.ctx.campaigns.clone();
        let mut n: u64 = 0;
        // Whether the last look found a campaign running (or could not look).
        let mut busy = true;
        loop {
            let woken = tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => false,
                _ = campaigns.wake.notified() => true,
            };
            n += 1;
            let housekeeping = n % HOUSEKEEPING_TICKS == 1;
            if !(busy || woken || housekeeping) {
                continue;
            }
            if housekeeping {
                runner.housekeeping(n % FOLD_TICKS == 1).await;
            }
            busy = match runner.dispatch().await {
                Ok(running) => running > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "campaign runner could not dispatch; next tick tries again");
                    true
                }
            };
            if n.is_multiple_of(METRICS_TICKS) || housekeeping {
                runner.publish_metrics().await;
            }
        }
    });
}

/// What a running campaign's sends need, loaded once per campaign.
struct Prepared {
    channel: Channel,
    content: Content,
    sender: User,
    team: Team,
    quiet: Option<QuietWindow>,
    /// The sending number's zones: a contact's when neither a field nor its number gives one.
    sender_zones: Vec<jiff::tz::TimeZone>,
}

struct Runner {
    ctx: RunnerCtx,
    /// One limiter per sender (at the rate it was made for).
    limiters: HashMap<String, (f64, DefaultDirectRateLimiter)>,
    prepared: HashMap<CampaignId, Arc<Prepared>>,
    /// The counts last published per campaign (only changes are published).
    published: HashMap<CampaignId, CampaignCounts>,
    /// The share of their pace campaigns may use now (agents first).
    share: f64,
    /// How long this tick's slowest first claim took.
    claim_took: Duration,
}

fn limiter(per_second: f64, tick: Duration) -> DefaultDirectRateLimiter {
    let period = CampaignPace::period(per_second).max(Duration::from_micros(1));
    // A tick's worth at once, so a fast sender is not held to one per tick.
    let burst = ((per_second * tick.as_secs_f64()).ceil() as u32).max(1);
    let quota = Quota::with_period(period).expect("non-zero period").allow_burst(NonZeroU32::new(burst).expect("max(1)"));
    RateLimiter::direct(quota)
}

impl Runner {
    /// Sends what each running campaign may send now; answers how many campaigns run.
    async fn dispatch(&mut self) -> DomainResult<usize> {
        let running = self.ctx.store.running_campaigns().await?;
        let count = running.len();
        // Agents first: this node's, and any other's (the node they use may not be this one).
        let slow_here = self.ctx.agent_load.take().slow > 0;
        let slow_anywhere = match self.ctx.store.agents_slowed(slow_here, self.ctx.tick).await {
            Ok(slow) => slow,
            Err(_) => slow_here,
        };
        self.share = rules::next_share(self.share, slow_anywhere || self.ctx.agent_load.is_slow(self.claim_took));
        self.claim_took = Duration::ZERO;
        metrics::gauge!("switchboard_campaign_share").set(self.share);
        self.prepared.retain(|id, _| running.iter().any(|c| c.id == *id));
        for campaign in running {
            let prepared = match self.prepare(&campaign).await {
                Ok(p) => p,
                Err(e) => {
                    if !self.ctx.campaigns.fail_if_for_good(&campaign, &e).await {
                        tracing::warn!(campaign = %campaign.id, error = %e, "could not prepare a campaign's sends");
                    }
                    continue;
                }
            };
            let rate = self.ctx.pace.per_second(&prepared.channel, self.ctx.sender_rate);
            let key = send_guard::sender_key(&prepared.channel);
            let tick = self.ctx.tick;
            let entry = self.limiters.entry(key.clone()).or_insert_with(|| (rate, limiter(rate, tick)));
            if (entry.0 - rate).abs() > f64::EPSILON {
                *entry = (rate, limiter(rate, tick));
            }
            let free = self.ctx.slots.available_permits().min(MAX_BATCH).min(rules::tick_allowance(rate, tick, self.share));
            let mut budget = 0;
            while budget < free && entry.1.check().is_ok() {
                budget += 1;
            }
            if budget == 0 {
                continue;
            }
            // This node's limiter keeps its own sends even; the sender's pace is shared by every
            // node, so two runners together keep to it too.
            let budget = self.ctx.store.take_pace(&key, rate, budget as u32, tick).await? as usize;
            if budget == 0 {
                continue;
            }
            let Ok(permits) = self.ctx.slots.clone().try_acquire_many_owned(budget as u32) else { continue };
            // The tick is shared by the running campaigns: each spreads its sends over its part.
            let spread = self.ctx.tick / count as u32;
            self.send_some(&campaign, &prepared, budget, permits, spread).await?;
        }
        Ok(count)
    }

    /// Claims and sends up to `budget` recipients of `campaign`: invalid numbers and missing
    /// values are skipped (and count against the budget, as before), recipients in quiet hours
    /// are held (and do not: the runner claims again for them). The sends are handed to their
    /// threads evenly over `spread`, not all at once: a tick's burst of sends (and, later, of
    /// their status callbacks) would take both cores for a moment, and an agent's request that
    /// comes in then waits behind all of it.
    async fn send_some(
        &mut self,
        campaign: &Campaign,
        prepared: &Prepared,
        budget: usize,
        mut permits: tokio::sync::OwnedSemaphorePermit,
        spread: Duration,
    ) -> DomainResult<()> {
        let now = crate::clock::now();
        let mut want = budget;
        let mut ask = budget;
        let (mut invalid, mut missing, mut ready, mut back) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..HOLD_ROUNDS {
            let started = std::time::Instant::now();
            let claimed = self.ctx.store.claim_recipients(campaign.id, ask as i64, now).await?;
            if round == 0 {
                self.claim_took = self.claim_took.max(started.elapsed());
            }
            let got = claimed.len();
            let mut held = 0;
            for r in claimed {
                if want == 0 {
                    back.push((r.id, None));
                    continue;
                }
                if crate::phone::normalize(&r.contact.phone, None).ok().as_deref() != Some(r.contact.phone.as_str()) {
                    invalid.push(r.id);
                    want -= 1;
                    continue;
                }
                if let Some(window) = &prepared.quiet {
                    let zones = quiet_hours::contact_zones(&r.contact, &prepared.sender_zones);
                    if let Some(until) = window.held_until(&zones, now) {
                        back.push((r.id, Some(until)));
                        held += 1;
                        continue;
                    }
                }
                let message = prepared.content.render(&r.contact, &prepared.sender, &prepared.team)?;
                want -= 1;
                if !message.missing.is_empty() {
                    missing.push(r.id);
                    continue;
                }
                ready.push((r, message));
            }
            // Another round only for what quiet hours held, and larger: the queue ahead may be
            // asleep for a while.
            if held == 0 || got < ask || want == 0 {
                break;
            }
            ask = (held * 4).clamp(want, MAX_BATCH);
        }
        if !back.is_empty() {
            self.ctx.store.requeue_recipients(&back).await?;
        }
        // Threads only for those who get a message: nobody else's conversation is touched.
        let contacts: Vec<ContactId> = ready.iter().map(|(r, _)| r.contact.id).collect();
        let threads: HashMap<ContactId, ThreadId> = if contacts.is_empty() {
            HashMap::new()
        } else {
            self.ctx.store.campaign_threads(campaign.team_id, campaign.channel_id, &contacts).await?.into_iter().collect()
        };
        let gap = spread / ready.len().max(1) as u32;
        for (i, (r, m)) in ready.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(gap).await;
            }
            // A thread that could not be had leaves the claim to the sweep, which requeues it.
            let Some(&thread) = threads.get(&r.contact.id) else { continue };
            let message = CampaignMessage {
                team: campaign.team_id,
                thread,
                campaign: campaign.id,
                recipient: r.id,
                claim: r.claim,
                body: m.text,
                content: m.content,
            };
            let slot = permits.split(1);
            if let Err(e) = self.ctx.threads.campaign_send(thread, CampaignSend { message, slot }).await {
                // Nothing was stored: the sweep puts the recipient back.
                tracing::warn!(campaign = %campaign.id, recipient = r.id, error = %e, "could not hand a campaign message to its thread");
            }
        }
        if !invalid.is_empty() {
            self.ctx.store.skip_recipients(&invalid, skip::INVALID_NUMBER).await?;
        }
        if !missing.is_empty() {
            self.ctx.store.skip_recipients(&missing, skip::MISSING_VARIABLES).await?;
        }
        Ok(())
    }

    async fn prepare(&mut self, campaign: &Campaign) -> DomainResult<Arc<Prepared>> {
        if let Some(p) = self.prepared.get(&campaign.id) {
            return Ok(p.clone());
        }
        let reads = &self.ctx.reads;
        let channel = reads
            .channels(campaign.team_id)
            .await?
            .into_iter()
            .find(|c| c.id == campaign.channel_id)
            .ok_or(crate::error::DomainError::NotFound("channel"))?;
        // A body was fixed when the campaign started (a canned reply's copied); an approved
        // template is read once per run on this node.
        let (_, content) = self.ctx.campaigns.content_of(campaign, channel.kind).await?;
        let quiet = campaign.quiet_hours.as_ref().map(QuietWindow::of).transpose()?;
        let sender_zones = quiet_hours::phone_zones(&channel.number).unwrap_or_default();
        let team = reads.team(campaign.team_id).await?;
        let members = reads.members(campaign.team_id).await?;
        let sender = members
            .iter()
            .find(|m| Some(m.id) == campaign.created_by)
            .or(members.first())
            .cloned()
            .ok_or(crate::error::DomainError::NotFound("sender"))?;
        let prepared = Arc::new(Prepared { channel, content, sender, team, quiet, sender_zones });
        self.prepared.insert(campaign.id, prepared.clone());
        Ok(prepared)
    }

    /// Starts due scheduled campaigns, requeues dead claims, finishes campaigns with nothing left
    /// and, when `fold`, folds the count rows of connections that are gone.
    async fn housekeeping(&mut self, fold: bool) {
        match self.ctx.store.due_campaigns(crate::clock::now()).await {
            Ok(due) => {
                for c in due {
                    // Another node may start it first: its conditional write then refuses ours.
                    // One that can never start (its template no longer fits) fails, saying why.
                    match self.ctx.campaigns.start_now(c.clone()).await {
                        Ok(started) => {
                            let _ = self.ctx.campaigns.changed(started).await;
                        }
                        Err(e) if self.ctx.campaigns.fail_if_for_good(&c, &e).await => {}
                        Err(e) => tracing::debug!(error = %e, "a due campaign was not started here"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read due campaigns"),
        }
        let cutoff = crate::clock::now() - self.ctx.stale_after;
        match self.ctx.store.requeue_stale_claims(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(recipients = n, "campaign claims whose node stopped before storing the message were requeued"),
            Err(e) => tracing::warn!(error = %e, "could not requeue stale campaign claims"),
        }
        if fold && let Err(e) = self.ctx.store.fold_campaign_counts().await {
            tracing::warn!(error = %e, "could not fold the counts of closed connections");
        }
        match self.ctx.store.finish_campaigns().await {
            Ok(done) => {
                for c in done {
                    let _ = self.ctx.campaigns.changed(c).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not finish campaigns"),
        }
    }

    /// Publishes the counts of campaigns that moved since this node last told them.
    async fn publish_metrics(&mut self) {
        let every = self.ctx.tick * METRICS_TICKS as u32;
        let due = match self.ctx.store.claim_metrics(every).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim campaign metrics");
                return;
            }
        };
        for (id, team) in due {
            let Ok(view) = self.ctx.campaigns.get(team, id).await else { continue };
            if self.published.get(&id) == Some(&view.counts) {
                continue;
            }
            self.published.insert(id, view.counts.clone());
            self.ctx.campaigns.publish(&view);
        }
        if self.published.len() > 1000 {
            self.published.clear();
        }
    }
}
