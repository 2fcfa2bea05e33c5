//! TeamActor: one per team with recent activity. It owns the team channel's inbox updates
//! (`thread.created`, `thread.updated`): changes are coalesced per thread over a short window,
//! so a burst (a scheduled campaign, a flood of delivery callbacks) reaches every agent's inbox
//! as one update per thread instead of one per event. Who is online is read from the hub's
//! presence table of the team channel, which spans every node.

use crate::core::Core;
use crate::domain::{ThreadSummary, event};
use crate::ids::*;
use crate::protocol::ChannelName;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    core: Arc<Core>,
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
    type Arguments = (Arc<Core>, TeamId);

    async fn pre_start(&self, myself: ActorRef<TeamMsg>, (core, team): Self::Arguments) -> Result<TeamState, ActorProcessingErr> {
        myself.send_interval(Duration::from_secs(30), || TeamMsg::Tick);
        Ok(TeamState { core, team, pending: HashMap::new(), order: vec![], last_activity: Instant::now() })
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
            TeamMsg::Flush => {
                let channel = ChannelName::Team(state.team);
                for id in std::mem::take(&mut state.order) {
                    if let Some((row, created)) = state.pending.remove(&id) {
                        let kind = if created { event::THREAD_CREATED } else { event::THREAD_UPDATED };
                        state.core.publish(channel, kind, &*row);
                    }
                }
            }
            TeamMsg::Tick => {
                if state.pending.is_empty() && state.last_activity.elapsed() >= IDLE {
                    myself.stop(Some("idle".into()));
                }
            }
        }
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<TeamMsg>, state: &mut TeamState) -> Result<(), ActorProcessingErr> {
        // Nothing coalesced is lost on a stop.
        let channel = ChannelName::Team(state.team);
        for id in std::mem::take(&mut state.order) {
            if let Some((row, created)) = state.pending.remove(&id) {
                state.core.publish(channel, if created { event::THREAD_CREATED } else { event::THREAD_UPDATED }, &*row);
            }
        }
        state.core.forget(&myself.get_cell());
        Ok(())
    }
}

impl Core {
    /// Hands a thread's new inbox row to its team's actor (spawned if needed), without waiting.
    pub fn team_changed(self: &Arc<Self>, thread: ThreadSummary, created: bool) {
        let team = thread.team_id;
        let mut msg = TeamMsg::ThreadChanged { thread: Box::new(thread), created };
        if let Some(actor) = self.teams.get(&team).map(|a| a.clone()) {
            match actor.cast(msg) {
                Ok(()) => return,
                // It is stopping: hand the message to a fresh one.
                Err(ractor::MessagingErr::SendErr(back)) => msg = back,
                Err(_) => return,
            }
        }
        let core = self.clone();
        tokio::spawn(async move {
            match core.team(team).await {
                Ok(actor) => {
                    let _ = actor.cast(msg);
                }
                Err(e) => tracing::warn!(%team, error = %e, "no team actor: inbox update dropped"),
            }
        });
    }

    /// The users online in a team (any node), from the team channel's presence.
    pub fn online(&self, team: TeamId) -> Vec<UserId> {
        self.hub.members(&ChannelName::Team(team).to_string()).iter().filter_map(|u| u.parse().ok()).collect()
    }
}
