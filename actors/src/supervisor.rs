//! The root of the supervision tree. Thread, team and scheduler actors are its children; when one
//! stops or fails it is forgotten by its registry, so the next use starts a fresh one that
//! reloads its state from Postgres. The scheduler, which nobody starts on demand, is restarted
//! at once. A failure never takes the server down.

use crate::registry::Forget;
use crate::scheduler::Schedule;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The supervisor takes no messages of its own: it only hears about its children.
pub enum SupervisorMsg {}

/// What the supervisor looks after.
pub struct SupervisorArgs {
    /// The registries its children are kept in.
    pub registries: Vec<Arc<dyn Forget>>,
    /// The scheduler, started again when it fails.
    pub schedule: Arc<Schedule>,
    pub shutdown: CancellationToken,
}

/// The root supervisor.
pub struct Supervisor;

#[ractor::async_trait]
impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorArgs;
    type Arguments = SupervisorArgs;

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, args: SupervisorArgs) -> Result<SupervisorArgs, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorArgs,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::error!(actor = ?cell.get_id(), %error, "actor failed; it will restart on next use");
                metrics::counter!("switchboard_actor_failures_total").increment(1);
                for registry in &state.registries {
                    registry.forget(cell.get_id());
                }
                if state.schedule.is(&cell) && !state.shutdown.is_cancelled() {
                    state.schedule.restart(myself.get_cell()).await;
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                for registry in &state.registries {
                    registry.forget(cell.get_id());
                }
            }
            _ => {}
        }
        Ok(())
    }
}
