//! TeamActor: one per team with someone online. It keeps the team's online roster (which users
//! have a socket on the team channel, counted per connection so several tabs are one person).
//! Inbox-level events go straight from the thread actors to the team channel: routing them
//! through here would add a hop and serialize every team's traffic through one mailbox.

use crate::core::Core;
use crate::error::DomainResult;
use crate::ids::*;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a team actor does.
pub enum TeamMsg {
    /// One of the user's connections joined the team channel.
    Online { user: UserId },
    /// One of the user's connections left the team channel.
    Offline { user: UserId },
    /// Who is online now.
    Roster { reply: RpcReplyPort<DomainResult<Vec<UserId>>> },
    /// Timer: stop when nobody has been online for a while.
    Tick,
}

/// A team's live state.
pub struct TeamState {
    core: Arc<Core>,
    /// user → number of live connections on the team channel.
    online: HashMap<UserId, u32>,
    empty_since: Option<Instant>,
}

/// The actor; its state is [`TeamState`].
pub struct TeamActor;

const IDLE: Duration = Duration::from_secs(120);

#[ractor::async_trait]
impl Actor for TeamActor {
    type Msg = TeamMsg;
    type State = TeamState;
    type Arguments = (Arc<Core>, TeamId);

    async fn pre_start(&self, myself: ActorRef<TeamMsg>, (core, _team): Self::Arguments) -> Result<TeamState, ActorProcessingErr> {
        myself.send_interval(Duration::from_secs(30), || TeamMsg::Tick);
        Ok(TeamState { core, online: HashMap::new(), empty_since: Some(Instant::now()) })
    }

    async fn handle(&self, myself: ActorRef<TeamMsg>, msg: TeamMsg, state: &mut TeamState) -> Result<(), ActorProcessingErr> {
        match msg {
            TeamMsg::Online { user } => {
                *state.online.entry(user).or_default() += 1;
                state.empty_since = None;
            }
            TeamMsg::Offline { user } => {
                if let Some(n) = state.online.get_mut(&user) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        state.online.remove(&user);
                    }
                }
                if state.online.is_empty() {
                    state.empty_since = Some(Instant::now());
                }
            }
            TeamMsg::Roster { reply } => {
                let _ = reply.send(Ok(state.online.keys().copied().collect()));
            }
            TeamMsg::Tick => {
                if state.empty_since.is_some_and(|t| t.elapsed() >= IDLE) {
                    myself.stop(Some("idle".into()));
                }
            }
        }
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<TeamMsg>, state: &mut TeamState) -> Result<(), ActorProcessingErr> {
        state.core.forget(&myself.get_cell());
        Ok(())
    }
}

impl Core {
    /// The users of a team with a live connection on this node.
    pub async fn online(self: &Arc<Self>, team: TeamId) -> DomainResult<Vec<UserId>> {
        let actor = self.team(team).await?;
        crate::core::call(&actor, |reply| TeamMsg::Roster { reply }, self.config.call_timeout).await
    }
}
