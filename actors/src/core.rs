//! The core: wires the live parts of one node together and stops them in order. It holds no
//! logic of its own; each part lives in its own file:
//!
//! - `threads` (typed commands) → `thread` actors, kept in a `registry`;
//! - `teams` → `team` actors (coalesced inbox updates);
//! - `schedule` → the `scheduler` actor; `send_guard` (limits, slots, trial guard, opt-out);
//! - `fanout` (hub + bus) and `cluster` (membership and presence across nodes);
//! - `contacts` (changes that every open view of a contact's threads must see), `lists`
//!   (lists, segments, bulk changes) and `imports` (CSV imports, big ones as owned tasks);
//! - `replies` (canned replies, and rendering a body through `templates` before it is sent);
//! - `templates` (approved WhatsApp/SMS templates, synced from Twilio's Content API);
//! - `assign` (automatic assignment: the team's setting; the thread actors ask it for an agent);
//! - `automation` (business hours, automatic replies and rules; the thread actors fire them);
//! - `labels` (the team's labels for conversations; putting them on one goes through `threads`),
//!   `tab_counts` (the inbox tabs' counts, a short per-team cache).
//! - `notifications` (stored per user; thread actors hand it the facts of their commits).

use crate::accounts::Accounts;
use crate::assignment::AutoAssign;
use crate::channels::Channels;
use crate::cluster::Cluster;
use crate::contacts::Contacts;
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::hub::Hub;
use crate::ids::{TeamId, ThreadId};
use crate::members::Members;
use crate::ports::{Bus, Carrier, Store};
use crate::protocol;
use crate::registry::{Forget, Registry};
use crate::replies::Replies;
use crate::scheduler::{Schedule, SchedulerCtx};
use crate::send_guard::SendGuard;
use crate::supervisor::{Supervisor, SupervisorArgs, SupervisorMsg};
use crate::team::{TeamActor, TeamMsg, Teams};
use crate::thread::{ThreadConfig, ThreadCtx, ThreadMsg};
use crate::threads::Threads;
use ractor::{Actor, ActorRef};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Settings of the core, read once at start.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Names this process on the bus, so it ignores its own frames.
    pub node_id: String,
    /// Where Twilio reaches us (status callback URLs are built from it).
    pub public_base_url: String,
    /// Trial guard: when set, only these E.164 numbers may be sent to.
    pub verified_numbers: Option<HashSet<String>>,
    /// How long a `client-typing` stays on without a refresh.
    pub typing_ttl: Duration,
    /// A thread actor with nothing to do for this long stops (it reloads on next use).
    pub thread_idle: Duration,
    /// How long a caller waits for an actor.
    pub call_timeout: Duration,
    /// Commands that may wait for one thread's actor; beyond that callers get `Busy` (503).
    pub max_queued_per_thread: usize,
    /// Outbound messages per second per sending number.
    pub send_rate_per_second: u32,
    /// A message in `sending` without a carrier answer for this long becomes `failed`.
    pub stale_sending_after: Duration,
    /// How often the scheduler looks for messages scheduled through other nodes.
    pub scheduler_poll: Duration,
    /// How far ahead a message may be scheduled.
    pub schedule_horizon: Duration,
    /// Whether this node runs a scheduler.
    pub run_scheduler: bool,
    /// Scheduled messages this node hands to the carrier at once (claimed, not yet answered);
    /// the rest wait in Postgres, where another node may claim them. A claim takes up to 500 of
    /// them, and each thread sends and records its share as one batch.
    pub dispatch_concurrency: usize,
    /// At shutdown, how long sends already with the carrier may take to answer.
    pub shutdown_grace: Duration,
    /// Campaign messages per second by kind of sender, and their share of a sender's budget.
    pub campaign_pace: crate::rules::campaigns::CampaignPace,
    /// How often the campaign runner claims recipients (a pause takes effect within it).
    pub campaign_tick: Duration,
    /// How often a team's conversations waiting for an agent are looked at (`backlog`).
    pub backlog_every: Duration,
    /// An agent's request (or the campaign runner's claim) this slow makes campaigns yield
    /// (`agent_load`); `None`: they never do.
    pub campaign_yield_after: Option<Duration>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            node_id: protocol::new_socket_id(),
            public_base_url: "http://127.0.0.1:8080".into(),
            verified_numbers: None,
            typing_ttl: Duration::from_secs(6),
            thread_idle: Duration::from_secs(300),
            call_timeout: Duration::from_secs(10),
            max_queued_per_thread: 256,
            send_rate_per_second: 1,
            stale_sending_after: Duration::from_secs(120),
            scheduler_poll: Duration::from_secs(1),
            schedule_horizon: Duration::from_secs(365 * 24 * 3600),
            run_scheduler: true,
            dispatch_concurrency: 512,
            shutdown_grace: Duration::from_secs(10),
            campaign_pace: Default::default(),
            campaign_tick: Duration::from_millis(100),
            backlog_every: Duration::from_secs(15),
            campaign_yield_after: Some(crate::agent_load::SLOW),
        }
    }
}

/// What the core needs from outside.
pub struct CorePorts {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub carrier: Arc<dyn Carrier>,
    /// Campaigns (Postgres; the in-memory fakes use `fakes::NoCampaigns`).
    pub campaigns: Arc<dyn crate::ports::CampaignStore>,
    /// Twilio's Content API (approved templates are synced from it).
    pub content_api: Arc<dyn crate::ports::ContentApi>,
}

/// How often expired sessions, links and dead tokens are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Runs `job` every `period` (the first time at once) in a task owned by `tasks`, until `stop`.
fn every<F, Fut>(tasks: &TaskTracker, stop: &CancellationToken, period: Duration, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = stop.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => job().await,
            }
        }
    });
}

/// The live core of one node.
pub struct Core {
    pub hub: Arc<Hub>,
    pub fanout: Arc<Fanout>,
    pub cluster: Arc<Cluster>,
    pub threads: Arc<Threads>,
    pub contacts: Contacts,
    /// Contact lists, segments and bulk changes.
    pub lists: crate::lists::Lists,
    /// The team's automatic assignment setting (the thread actors use it to pick).
    pub assign: Arc<AutoAssign>,
    /// How this node's agent requests fare (the edge records; campaigns yield to them).
    pub agent_load: Arc<crate::agent_load::AgentLoad>,
    /// Business hours, automatic replies and rules (the thread actors fire them).
    pub automation: Arc<crate::automation::Automation>,
    /// CSV imports of contacts (big ones are owned tasks of this core).
    pub imports: crate::imports::Imports,
    pub accounts: Accounts,
    pub members: Members,
    pub channels: Channels,
    pub two_factor: crate::two_factor::TwoFactor,
    pub passwords: Arc<crate::passwords::Passwords>,
    /// Sign-in with the OIDC provider, and linked identities.
    pub identities: crate::identities::Identities,
    pub replies: Replies,
    /// Approved message templates (WhatsApp, SMS) and their Content API sync.
    pub templates: crate::message_templates::MessageTemplates,
    pub labels: crate::labels::Labels,
    pub tab_counts: crate::tab_counts::TabCounts,
    /// Stored notifications per user, their preferences.
    pub notifications: Arc<crate::notifications::Notifications>,
    /// Campaigns (the runner sends them on nodes with a scheduler).
    pub campaigns: Arc<crate::campaigns::Campaigns>,
    pub config: CoreConfig,
    teams: Arc<Teams>,
    schedule: Arc<Schedule>,
    /// The scheduler's context, owned here (`Schedule` holds it weakly, see there).
    _scheduler_ctx: Option<Arc<SchedulerCtx>>,
    /// Owns every task the core spawns: shutdown waits for them.
    tasks: TaskTracker,
    shutdown: CancellationToken,
    supervisor: ActorRef<SupervisorMsg>,
}

impl Core {
    /// Builds the core and starts its supervision tree, cluster tasks and (when configured) the
    /// scheduler.
    pub async fn start(ports: CorePorts, config: CoreConfig) -> DomainResult<Arc<Core>> {
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let hub = Arc::new(Hub::default());
        let fanout = Arc::new(Fanout::new(hub.clone(), ports.bus, &config.node_id));
        let cluster = Arc::new(Cluster::new(fanout.clone()));
        let guard = Arc::new(SendGuard::new(config.send_rate_per_second, config.dispatch_concurrency, config.verified_numbers.clone()));
        let schedule = Arc::new(Schedule::default());
        let thread_registry: Arc<Registry<ThreadId, ThreadMsg>> =
            Arc::new(Registry::new(config.max_queued_per_thread, config.call_timeout));
        let team_registry: Arc<Registry<TeamId, TeamMsg>> = Arc::new(Registry::new(usize::MAX, config.call_timeout));

        let registries: Vec<Arc<dyn Forget>> = vec![thread_registry.clone(), team_registry.clone()];
        let args = SupervisorArgs { registries, schedule: schedule.clone(), shutdown: shutdown.clone() };
        let (supervisor, _) = Actor::spawn(None, Supervisor, args).await.map_err(|e| DomainError::Internal(format!("supervisor: {e}")))?;

        let team_fanout = fanout.clone();
        let team_sup = supervisor.get_cell();
        team_registry.set_starter(Box::new(move |team, _queued| {
            let (fanout, sup) = (team_fanout.clone(), team_sup.clone());
            Box::pin(async move {
                let (actor, _) = Actor::spawn_linked(None, TeamActor, (fanout, team), sup)
                    .await
                    .map_err(|e| DomainError::Internal(format!("team actor: {e}")))?;
                Ok(actor)
            })
        }));
        let teams = Arc::new(Teams::new(team_registry, tasks.clone()));
        let assign = Arc::new(AutoAssign::new(ports.store.clone(), ports.store.clone(), cluster.clone(), fanout.clone()));

        let automation = crate::automation::Automation::new(ports.store.clone(), ports.store.clone(), fanout.clone());
        let notifications = crate::notifications::Notifications::new(ports.store.clone(), fanout.clone(), tasks.clone());
        let ctx = Arc::new(ThreadCtx {
            store: ports.store.clone(),
            notifications: notifications.clone(),
            carrier: ports.carrier,
            fanout: fanout.clone(),
            teams: teams.clone(),
            guard: guard.clone(),
            schedule: schedule.clone(),
            assign: assign.clone(),
            automation: automation.clone(),
            registry: thread_registry,
            tasks: tasks.clone(),
            shutdown: shutdown.clone(),
            config: ThreadConfig {
                typing_ttl: config.typing_ttl,
                idle: config.thread_idle,
                horizon: config.schedule_horizon,
                stale_after: config.stale_sending_after,
                status_callback_url: format!("{}/webhooks/twilio/status", config.public_base_url.trim_end_matches('/')),
            },
        });
        let threads = Threads::new(ctx, supervisor.get_cell());
        let contacts = Contacts::new(ports.store.clone(), threads.clone(), ports.store.clone(), fanout.clone());
        let lists = crate::lists::Lists::new(ports.store.clone(), ports.store.clone(), fanout.clone());
        let imports =
            crate::imports::Imports::new(ports.store.clone(), ports.store.clone(), fanout.clone(), tasks.clone(), shutdown.clone());
        let accounts = Accounts::new(ports.store.clone());
        let members = Members::new(ports.store.clone(), threads.clone(), cluster.clone(), fanout.clone());
        let channels = Channels::new(ports.store.clone(), ports.store.clone());
        let two_factor = crate::two_factor::TwoFactor::new(ports.store.clone());
        let passwords = Arc::new(crate::passwords::Passwords::new(ports.store.clone()));
        let identities = crate::identities::Identities::new(ports.store.clone());
        let replies = Replies::new(ports.store.clone(), fanout.clone());
        let templates = crate::message_templates::MessageTemplates::new(ports.store.clone(), ports.content_api.clone(), fanout.clone());
        let labels = crate::labels::Labels::new(ports.store.clone(), fanout.clone());
        let tab_counts = crate::tab_counts::TabCounts::new(ports.store.clone());
        let sender_rate = f64::from(config.send_rate_per_second.max(1));
        let campaigns = Arc::new(crate::campaigns::Campaigns::new(
            ports.campaigns.clone(),
            ports.store.clone(),
            fanout.clone(),
            config.campaign_pace.clone(),
            sender_rate,
        ));

        let agent_load = Arc::new(crate::agent_load::AgentLoad::new(config.campaign_yield_after));
        let mut scheduler_ctx = None;
        if config.run_scheduler {
            let sched = SchedulerCtx {
                store: ports.store.clone(),
                dispatcher: threads.clone(),
                reminders: ports.store.clone(),
                notifications: notifications.clone(),
                slots: guard.slots.clone(),
                poll: config.scheduler_poll,
                stale_after: config.stale_sending_after,
            };
            let sched = Arc::new(sched);
            schedule.start(&sched, supervisor.get_cell()).await;
            scheduler_ctx = Some(sched);
            let runner = crate::campaigns::runner::RunnerCtx {
                campaigns: campaigns.clone(),
                store: ports.campaigns.clone(),
                reads: ports.store.clone(),
                threads: threads.clone(),
                slots: guard.slots.clone(),
                pace: config.campaign_pace.clone(),
                sender_rate,
                stale_after: config.stale_sending_after,
                tick: config.campaign_tick,
                agent_load: agent_load.clone(),
            };
            crate::campaigns::runner::spawn(runner, &tasks, shutdown.clone());
            // Customers who wrote while nobody could take them get an agent once one can.
            let backlog = Arc::new(crate::backlog::Backlog {
                store: ports.store.clone(),
                presence: cluster.clone(),
                threads: threads.clone(),
                every: config.backlog_every,
            });
            // Looks every fifth of the period: a team's turn comes within a fifth of its due time.
            every(&tasks, &shutdown, (config.backlog_every / 5).max(Duration::from_millis(50)), move || {
                let backlog = backlog.clone();
                async move {
                    let n = backlog.sweep().await;
                    if n > 0 {
                        tracing::info!(assigned = n, "conversations waiting for an agent were assigned");
                    }
                }
            });
        }
        cluster.start(&tasks, shutdown.clone());
        // Governor keeps a budget per sending number: forget the quiet ones now and then.
        let sweep_guard = guard.clone();
        every(&tasks, &shutdown, Duration::from_secs(60), move || {
            sweep_guard.forget_idle();
            async {}
        });
        // Imports whose node stopped mid-job are failed (every node looks; failing twice is
        // harmless: the second finds nothing).
        let sweep_imports = imports.clone();
        every(&tasks, &shutdown, Duration::from_secs(60), move || {
            let imports = sweep_imports.clone();
            async move {
                if let Err(e) = imports.fail_stale().await {
                    tracing::warn!(error = %e, "could not look for imports left by a stopped node");
                }
            }
        });
        // Sessions, links and tokens that can never be used again are deleted now and then
        // (every node does it; deleting twice is harmless).
        let purger = passwords.clone();
        every(&tasks, &shutdown, PURGE_EVERY, move || {
            let purger = purger.clone();
            async move {
                match purger.purge_expired().await {
                    Ok(0) => {}
                    Ok(rows) => tracing::info!(rows, "purged expired sessions, links and tokens"),
                    Err(e) => tracing::warn!(error = %e, "could not purge expired sessions, links and tokens"),
                }
            }
        });
        Ok(Arc::new(Core {
            hub,
            fanout,
            cluster,
            threads,
            contacts,
            lists,
            imports,
            assign,
            agent_load,
            automation,
            accounts,
            members,
            channels,
            two_factor,
            passwords,
            identities,
            replies,
            templates,
            labels,
            tab_counts,
            notifications,
            campaigns,
            config,
            teams,
            schedule,
            _scheduler_ctx: scheduler_ctx,
            tasks,
            shutdown,
            supervisor,
        }))
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Resolves when shutdown begins.
    pub fn stopping(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.shutdown.cancelled()
    }

    /// Stops the node in order: no new claims; every socket told to reconnect elsewhere (4200);
    /// sends already with the carrier finish and their answers are recorded (up to the grace
    /// period); sends still waiting for their budget are given back for any node; thread actors
    /// finish what is queued; team actors flush their coalesced updates; the others hear we left.
    pub async fn shutdown(&self) {
        if self.shutdown.is_cancelled() {
            return;
        }
        self.schedule.stop().await;
        self.shutdown.cancel();
        self.hub.close_all(protocol::code::RECONNECT);
        self.tasks.close();
        if tokio::time::timeout(self.config.shutdown_grace, self.tasks.wait()).await.is_err() {
            tracing::warn!("shutdown: some sends did not finish within the grace period");
        }
        let grace = Duration::from_secs(5);
        self.threads.drain(grace).await;
        for team in self.teams.registry.all() {
            let _ = team.drain_and_wait(Some(grace)).await;
        }
        self.cluster.leave();
        self.supervisor.stop(None);
    }
}
