//! Automatic assignment's backlog: a customer who wrote while nobody could take the
//! conversation (nobody online, every agent at the cap) is not left waiting once someone can.
//! Now and then each node claims the teams due a look (one node per team per period, through
//! the store) and asks the actor of each waiting conversation, longest waiting first, to
//! assign it as a customer's message would; the first one nobody can take ends the team's turn.
//! Only conversations whose customer wrote within `WAITING_AT_MOST` are swept: switching the
//! setting on does not hand agents last month's history.

use crate::ports::{AssignmentStore, Presence};
use crate::threads::Threads;
use std::sync::Arc;
use std::time::Duration;

/// How long ago a customer may have written for their conversation to be swept.
pub const WAITING_AT_MOST: Duration = Duration::from_secs(72 * 3600);
/// Conversations one team's turn asks about at most (the rest wait for the next turn).
const PER_TURN: i64 = 200;

/// What a thread actor did with the backlog's ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// The conversation went to this agent.
    To(crate::ids::UserId),
    /// It no longer waits for an agent (assigned, closed meanwhile).
    NotWaiting,
    /// It waits, and nobody can take it now (nobody online under the cap, or the setting off).
    NobodyFree,
}

/// What a sweep uses.
pub struct Backlog {
    pub store: Arc<dyn AssignmentStore>,
    pub presence: Arc<dyn Presence>,
    pub threads: Arc<Threads>,
    /// How often a team's backlog is looked at (by one node).
    pub every: Duration,
}

impl Backlog {
    /// One sweep: every team due a look; answers how many conversations got an agent.
    pub async fn sweep(&self) -> usize {
        let teams = match self.store.claim_backlogs(self.every).await {
            Ok(teams) => teams,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim automatic assignment's backlogs");
                return 0;
            }
        };
        let mut assigned = 0;
        for team in teams {
            if self.presence.online(team).is_empty() {
                continue;
            }
            let since = crate::clock::now() - WAITING_AT_MOST;
            let waiting = match self.store.waiting_unassigned(team, since, PER_TURN).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(%team, error = %e, "could not read the conversations waiting for an agent");
                    continue;
                }
            };
            for thread in waiting {
                match self.threads.auto_assign(team, thread).await {
                    Ok(Assigned::To(_)) => assigned += 1,
                    // Someone took it meanwhile (an agent, a customer's message on another node).
                    Ok(Assigned::NotWaiting) => {}
                    // Nobody can take this one, so nobody can take the next either.
                    Ok(Assigned::NobodyFree) => break,
                    Err(e) => tracing::debug!(%thread, error = %e, "a waiting conversation was not assigned"),
                }
            }
        }
        assigned
    }
}
