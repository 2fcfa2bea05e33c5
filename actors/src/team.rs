//! TeamActor: one per team with recent activity. It owns the team channel's inbox updates
//! (`thread.created`, `thread.updated`, `thread.deleted`): changes are coalesced per thread over
//! a short window, so a burst (a scheduled campaign, a flood of delivery callbacks) reaches every
//! agent's inbox as one update per thread instead of one per event.

use crate::domain::{ThreadSummary, event};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::protocol::ChannelName;
use crate::registry::Registry;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::task::TaskTracker;

/// What a team actor does.
pub enum TeamMsg {
    /// A thread's inbox row changed; `created` when the thread is new.
    ThreadChanged { thread: Box<ThreadSummary>, created: bool },
    /// Timer: publish what was coalesced.
    Flush,
    /// Timer: stop when idle.
    Tick,
}

/// A team's live state.
pub struct TeamState {
    fanout: Arc<Fanout>,
    team: TeamId,
    /// The latest row of each changed thread since the last flush, and whether it is new.
    pending: HashMap<ThreadId, (Box<ThreadSummary>, bool)>,
    /// The order threads changed in, so the inbox sees them in that order.
    order: Vec<ThreadId>,
    last_activity: Instant,
}

/// The actor; its state is [`TeamState`].
pub struct TeamActor;

/// How long changes are gathered before they go out: short enough to feel instant.
pub const COALESCE: Duration = Duration::from_millis(40);
const IDLE: Duration = Duration::from_secs(120);

#[ractor::async_trait]
impl Actor for TeamActor {
    type Msg = TeamMsg;
    type State = TeamState;
    type Arguments = (Arc<Fanout>, TeamId);

    async fn pre_start(&self, myself: ActorRef<TeamMsg>, (fanout, team): Self::Arguments) -> Result<TeamState, ActorProcessingErr> {
        myself.send_interval(Duration::from_secs(30), || TeamMsg::Tick);
        Ok(TeamState { fanout, team, pending: HashMap::new(), order: vec![], last_activity: Instant::now() })
    }

    async fn handle(&self, myself: ActorRef<TeamMsg>, msg: TeamMsg, state: &mut TeamState) -> Result<(), ActorProcessingErr> {
        match msg {
            TeamMsg::ThreadChanged { thread, created } => {
                state.last_activity = Instant::now();
                if state.pending.is_empty() {
                    myself.send_after(COALESCE, || TeamMsg::Flush);
                }
                let id = thread.id;
                match state.pending.get_mut(&id) {
                    // A newer row replaces the older; "created" sticks until it is announced.
                    Some((row, was_created)) => {
                        *row = thread;
                        *was_created |= created;
                        state.order.retain(|t| *t != id);
                    }
                    None => {
                        state.pending.insert(id, (thread, created));
                    }
                }
                state.order.push(id);
            }
            TeamMsg::Flush => state.flush(),
            TeamMsg::Tick => {
                if state.pending.is_empty() && state.last_activity.elapsed() >= IDLE {
                    myself.stop(Some("idle".into()));
                }
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<TeamMsg>, state: &mut TeamState) -> Result<(), ActorProcessingErr> {
        // Nothing coalesced is lost on a stop (idle or shutdown).
        state.flush();
        Ok(())
    }
}

impl TeamState {
    fn flush(&mut self) {
        let channel = ChannelName::Team(self.team);
        for id in std::mem::take(&mut self.order) {
            if let Some((row, created)) = self.pending.remove(&id) {
                let kind = if created { event::THREAD_CREATED } else { event::THREAD_UPDATED };
                self.fanout.publish(channel, kind, &*row);
            }
        }
    }
}

/// The team actors of this node: where thread actors hand their new inbox rows.
pub struct Teams {
    pub registry: Arc<Registry<TeamId, TeamMsg>>,
    tasks: TaskTracker,
}

impl Teams {
    /// Team actors kept in `registry`; starting one off a caller's path runs on `tasks`.
    pub fn new(registry: Arc<Registry<TeamId, TeamMsg>>, tasks: TaskTracker) -> Self {
        Teams { registry, tasks }
    }

    /// Hands a thread's new inbox row to its team's actor, without waiting (the actor is started
    /// by an owned task when it is not running).
    pub fn changed(&self, thread: ThreadSummary, created: bool) {
        let team = thread.team_id;
        let msg = TeamMsg::ThreadChanged { thread: Box::new(thread), created };
        let msg = match self.registry.running(team) {
            Some(live) => match live.actor.cast(msg) {
                Ok(()) => return,
                // It is stopping: a fresh one takes the message.
                Err(ractor::MessagingErr::SendErr(back)) => back,
                Err(_) => return,
            },
            None => msg,
        };
        let registry = self.registry.clone();
        self.tasks.spawn(async move {
            if let Err(e) = registry.cast(team, msg).await {
                tracing::warn!(%team, error = %e, "no team actor: an inbox update was dropped");
            }
        });
    }
}
