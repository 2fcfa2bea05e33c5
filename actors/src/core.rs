//! The core: the one handle the edge holds. It owns the hub, the ports, the registry of live
//! actors and the supervision tree, and offers each domain command as one async call.

use crate::error::{DomainError, DomainResult};
use crate::hub::{ConnRef, Hub, PresenceChange, Subscribed};
use crate::ids::*;
use crate::ports::*;
use crate::protocol::{self, ChannelName, PresenceMember};
use crate::scheduler::{SchedulerActor, SchedulerMsg};
use crate::supervisor::Supervisor;
use crate::team::{TeamActor, TeamMsg};
use crate::thread::{ThreadActor, ThreadMsg};
use bytes::Bytes;
use dashmap::DashMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ractor::{Actor, ActorCell, ActorRef, RpcReplyPort};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// How often a node tells the others it is alive; three missed beats and it is dropped.
const HEARTBEAT: Duration = Duration::from_secs(5);

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
    /// Scheduled messages this node hands to the carrier at once; the rest wait in Postgres,
    /// where another node may claim them.
    pub dispatch_concurrency: usize,
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
            send_rate_per_second: 1,
            stale_sending_after: Duration::from_secs(120),
            scheduler_poll: Duration::from_secs(1),
            schedule_horizon: Duration::from_secs(365 * 24 * 3600),
            run_scheduler: true,
            dispatch_concurrency: 64,
        }
    }
}

/// What a live actor is registered as.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Thread(ThreadId),
    Team(TeamId),
}

/// The live core of one node.
pub struct Core {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub carrier: Arc<dyn Carrier>,
    pub hub: Arc<Hub>,
    pub config: CoreConfig,
    pub(crate) send_limiter: DefaultKeyedRateLimiter<String>,
    /// Slots for scheduled sends in flight (see `CoreConfig::dispatch_concurrency`).
    pub(crate) send_slots: Arc<tokio::sync::Semaphore>,
    threads: DashMap<ThreadId, ActorRef<ThreadMsg>>,
    pub(crate) teams: DashMap<TeamId, ActorRef<TeamMsg>>,
    /// Which registry entry each live actor is, so forgetting one is a lookup, not a scan.
    entries: DashMap<ractor::ActorId, Entry>,
    /// Serializes the rare slow path of spawning, so one thread never gets two actors.
    spawn_lock: tokio::sync::Mutex<()>,
    supervisor: OnceLock<ActorCell>,
    scheduler: std::sync::Mutex<Option<ActorRef<SchedulerMsg>>>,
    /// Other nodes heard on the bus, and when.
    nodes: DashMap<String, std::time::Instant>,
    pub shutdown: CancellationToken,
}

impl Core {
    /// Builds the core and starts its supervision tree (and the scheduler when configured).
    pub async fn start(store: Arc<dyn Store>, bus: Arc<dyn Bus>, carrier: Arc<dyn Carrier>, config: CoreConfig) -> DomainResult<Arc<Core>> {
        let rate = NonZeroU32::new(config.send_rate_per_second.max(1)).expect("max(1)");
        let core = Arc::new(Core {
            store,
            bus,
            carrier,
            hub: Arc::new(Hub::default()),
            send_limiter: RateLimiter::keyed(Quota::per_second(rate)),
            send_slots: Arc::new(tokio::sync::Semaphore::new(config.dispatch_concurrency.max(1))),
            threads: DashMap::new(),
            teams: DashMap::new(),
            entries: DashMap::new(),
            spawn_lock: tokio::sync::Mutex::new(()),
            supervisor: OnceLock::new(),
            scheduler: std::sync::Mutex::new(None),
            nodes: DashMap::new(),
            shutdown: CancellationToken::new(),
            config,
        });
        let (sup, _) = Actor::spawn(None, Supervisor { core: Arc::downgrade(&core) }, ())
            .await
            .map_err(|e| DomainError::Internal(format!("supervisor: {e}")))?;
        let _ = core.supervisor.set(sup.get_cell());
        if core.config.run_scheduler {
            core.restart_scheduler().await;
        }
        core.start_heartbeat();
        // Governor's keyed limiter keeps a key per sending number; drop idle ones now and then.
        let weak = Arc::downgrade(&core);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(core) = weak.upgrade() else { break };
                core.send_limiter.retain_recent();
            }
        });
        Ok(core)
    }

    /// Stops every actor and closes every socket with 4200 (reconnect now).
    pub fn stop(&self) {
        if !self.shutdown.is_cancelled() {
            self.bus.publish(BusMessage::Bye { origin: self.node().into() });
        }
        self.shutdown.cancel();
        self.hub.close_all(protocol::code::RECONNECT);
        if let Some(sup) = self.supervisor.get() {
            sup.stop_children(None);
            sup.stop(None);
        }
    }

    /// The live actor of a thread, spawned (and its state loaded) on first use.
    pub async fn thread(self: &Arc<Self>, id: ThreadId) -> DomainResult<ActorRef<ThreadMsg>> {
        if let Some(actor) = self.threads.get(&id) {
            return Ok(actor.clone());
        }
        let _guard = self.spawn_lock.lock().await;
        if let Some(actor) = self.threads.get(&id) {
            return Ok(actor.clone());
        }
        let sup = self.supervisor.get().ok_or(DomainError::Unavailable)?.clone();
        let (actor, _) = Actor::spawn_linked(None, ThreadActor, (self.clone(), id), sup).await.map_err(|e| {
            // pre_start failing means the thread could not be loaded.
            tracing::debug!(thread = %id, error = %e, "thread actor did not start");
            DomainError::NotFound("thread")
        })?;
        self.threads.insert(id, actor.clone());
        self.entries.insert(actor.get_id(), Entry::Thread(id));
        Ok(actor)
    }

    /// The live actor of a team, spawned on first use.
    pub async fn team(self: &Arc<Self>, id: TeamId) -> DomainResult<ActorRef<TeamMsg>> {
        if let Some(actor) = self.teams.get(&id) {
            return Ok(actor.clone());
        }
        let _guard = self.spawn_lock.lock().await;
        if let Some(actor) = self.teams.get(&id) {
            return Ok(actor.clone());
        }
        let sup = self.supervisor.get().ok_or(DomainError::Unavailable)?.clone();
        let (actor, _) = Actor::spawn_linked(None, TeamActor, (self.clone(), id), sup)
            .await
            .map_err(|e| DomainError::Internal(format!("team actor: {e}")))?;
        self.teams.insert(id, actor.clone());
        self.entries.insert(actor.get_id(), Entry::Team(id));
        Ok(actor)
    }

    /// How many thread actors are alive (for metrics and tests).
    pub fn live_threads(&self) -> usize {
        self.threads.len()
    }

    /// Forgets an actor that stopped or failed, so the next use spawns a fresh one that reloads
    /// its state from Postgres.
    pub(crate) fn forget(&self, cell: &ActorCell) {
        let id = cell.get_id();
        // Only this actor's entry goes: a newer actor for the same thread stays registered.
        match self.entries.remove(&id).map(|(_, entry)| entry) {
            Some(Entry::Thread(thread)) => {
                self.threads.remove_if(&thread, |_, a| a.get_id() == id);
            }
            Some(Entry::Team(team)) => {
                self.teams.remove_if(&team, |_, a| a.get_id() == id);
            }
            None => {}
        }
    }

    /// Asks a thread actor and waits (bounded by `call_timeout`) for its answer.
    pub async fn ask_thread<T: Send + 'static>(
        self: &Arc<Self>,
        id: ThreadId,
        make: impl FnOnce(RpcReplyPort<DomainResult<T>>) -> ThreadMsg,
    ) -> DomainResult<T> {
        let (tx, rx) = ractor::concurrency::oneshot();
        self.tell_thread(id, make(tx.into())).await?;
        match tokio::time::timeout(self.config.call_timeout, rx).await {
            Ok(Ok(result)) => result,
            // The actor dropped the reply (it failed) or did not answer in time.
            Ok(Err(_)) | Err(_) => Err(DomainError::Unavailable),
        }
    }

    /// Tells a thread actor something without waiting. An actor that is draining (idle stop)
    /// refuses new messages: the message goes to a fresh actor instead, never lost.
    pub async fn tell_thread(self: &Arc<Self>, id: ThreadId, mut msg: ThreadMsg) -> DomainResult<()> {
        for _ in 0..3 {
            let actor = self.thread(id).await?;
            match actor.cast(msg) {
                Ok(()) => return Ok(()),
                Err(ractor::MessagingErr::SendErr(back)) => {
                    self.forget(&actor.get_cell());
                    msg = back;
                }
                Err(_) => return Err(DomainError::Unavailable),
            }
        }
        Err(DomainError::Unavailable)
    }

    /// Tells the scheduler that a message is due at `at` (so it need not wait for its poll).
    pub fn scheduled(&self, at: OffsetDateTime) {
        if let Some(s) = self.scheduler.lock().expect("scheduler lock").as_ref() {
            let _ = s.cast(SchedulerMsg::Due(at));
        }
    }

    /// (Re)starts this node's scheduler under the supervisor.
    pub(crate) async fn restart_scheduler(self: &Arc<Self>) {
        let Some(sup) = self.supervisor.get().cloned() else {
            return;
        };
        match Actor::spawn_linked(None, SchedulerActor, self.clone(), sup).await {
            Ok((sched, _)) => *self.scheduler.lock().expect("scheduler lock") = Some(sched),
            Err(e) => tracing::error!(error = %e, "scheduler did not start"),
        }
    }

    pub(crate) fn is_scheduler(&self, cell: &ActorCell) -> bool {
        self.scheduler.lock().expect("scheduler lock").as_ref().is_some_and(|s| s.get_id() == cell.get_id())
    }

    /// Serializes an event once, fans it out to local sockets and hands it to the bus.
    pub fn publish(&self, channel: ChannelName, event: &str, data: &impl serde::Serialize) {
        let channel = channel.to_string();
        let frame = protocol::event_frame(event, &channel, data);
        self.publish_frame(channel, frame, None);
    }

    /// Fans out a ready frame locally (but not to `except`) and to the other nodes.
    pub fn publish_frame(&self, channel: String, frame: String, except: Option<&str>) {
        if self.bus.is_shared() {
            self.hub.broadcast(&channel, Bytes::from(frame.clone()), except);
            self.bus.publish(BusMessage::Frame { origin: self.node().into(), channel, frame });
        } else {
            self.hub.broadcast(&channel, Bytes::from(frame), except);
        }
    }

    fn node(&self) -> &str {
        &self.config.node_id
    }

    /// Subscribes a local socket; a presence change is told to the other nodes.
    pub fn subscribe(&self, channel: &str, conn: &ConnRef, member: Option<PresenceMember>) -> Subscribed {
        let (subscribed, change) = self.hub.subscribe(channel, conn, member);
        self.tell_presence(change);
        subscribed
    }

    /// Unsubscribes a local socket from one channel.
    pub fn unsubscribe(&self, channel: &str, socket_id: &str) {
        let change = self.hub.unsubscribe(channel, socket_id);
        self.tell_presence(change);
    }

    /// A local socket closed: it leaves all its channels.
    pub fn disconnect(&self, conn: &ConnRef, channels: impl IntoIterator<Item = String>) {
        for change in self.hub.unregister(conn, channels) {
            self.tell_presence(Some(change));
        }
    }

    fn tell_presence(&self, change: Option<PresenceChange>) {
        if let Some(c) = change {
            self.bus.publish(BusMessage::Presence {
                origin: self.node().into(),
                channel: c.channel,
                user_id: c.member.user_id,
                user_info: c.member.user_info,
                joined: c.joined,
            });
        }
    }

    /// A message from another node.
    pub fn receive_remote(&self, msg: BusMessage) {
        let origin = msg.origin().to_owned();
        if origin == self.config.node_id {
            return;
        }
        // Any message proves the node is alive; a node first heard of gets our snapshot (it may
        // have started before us, or missed our Hello).
        let new_node = self.nodes.insert(origin.clone(), std::time::Instant::now()).is_none();
        if new_node && !matches!(msg, BusMessage::Bye { .. }) {
            self.bus.publish(BusMessage::Snapshot { origin: self.node().into(), members: self.hub.local_members() });
        }
        match msg {
            BusMessage::Frame { channel, frame, .. } => {
                self.hub.broadcast(&channel, Bytes::from(frame), None);
            }
            BusMessage::Presence { channel, user_id, user_info, joined, .. } => {
                self.hub.remote_presence(&origin, &channel, PresenceMember { user_id, user_info }, joined);
            }
            BusMessage::Snapshot { members, .. } => {
                for (channel, user_id, user_info) in members {
                    self.hub.remote_presence(&origin, &channel, PresenceMember { user_id, user_info }, true);
                }
            }
            BusMessage::Hello { .. } | BusMessage::Heartbeat { .. } => {}
            BusMessage::Bye { .. } => {
                self.nodes.remove(&origin);
                self.hub.drop_node(&origin);
            }
        }
    }

    /// Says hello, then beats every few seconds and drops nodes that went silent (their members
    /// leave). Runs until shutdown.
    fn start_heartbeat(self: &Arc<Self>) {
        self.bus.publish(BusMessage::Hello { origin: self.node().into() });
        let weak = Arc::downgrade(self);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Some(core) = weak.upgrade() else { break };
                core.bus.publish(BusMessage::Heartbeat { origin: core.node().into() });
                let silent: Vec<String> =
                    core.nodes.iter().filter(|n| n.value().elapsed() > HEARTBEAT * 3).map(|n| n.key().clone()).collect();
                for node in silent {
                    tracing::warn!(%node, "a node went silent: its presence members leave");
                    core.nodes.remove(&node);
                    core.hub.drop_node(&node);
                }
            }
        });
    }

    /// Fans out what a thread change committed: each event to the thread channel (or to its one
    /// reader's private channel), and the thread's new inbox row to its team actor.
    pub(crate) fn fan_out<T>(self: &Arc<Self>, committed: &Committed<T>, created: bool) {
        for event in &committed.events {
            let channel = match event.audience {
                Some(user) => ChannelName::User(user),
                None => ChannelName::Thread(event.thread_id),
            };
            self.publish(channel, &event.kind, event);
        }
        self.team_changed(committed.thread.clone(), created);
    }

    /// The trial guard: with VERIFIED_NUMBERS set, only those numbers may be sent to.
    pub fn check_verified(&self, to: &str) -> DomainResult<()> {
        match &self.config.verified_numbers {
            Some(set) if !set.contains(to) => Err(DomainError::NotVerified(to.to_owned())),
            _ => Ok(()),
        }
    }

    /// The status callback URL Twilio posts delivery updates to.
    pub fn status_callback_url(&self) -> String {
        format!("{}/webhooks/twilio/status", self.config.public_base_url.trim_end_matches('/'))
    }
}
