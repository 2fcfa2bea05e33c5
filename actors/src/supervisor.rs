//! The root of the supervision tree. Thread, team and scheduler actors are its children; when one
//! fails it is forgotten, so the next use spawns a fresh one that reloads its state from Postgres.
//! A failure never takes the server down.

use crate::core::Core;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::sync::Weak;

/// The supervisor takes no messages of its own: it only hears about its children.
pub enum SupervisorMsg {}

/// The root supervisor.
pub struct Supervisor {
    pub core: Weak<Core>,
}

#[ractor::async_trait]
impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        _state: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        let Some(core) = self.core.upgrade() else {
            return Ok(());
        };
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::error!(actor = ?cell.get_id(), %error, "actor failed; it will restart on next use");
                metrics::counter!("switchboard_actor_failures_total").increment(1);
                core.forget(&cell);
                // The scheduler is not used on demand: restart it now.
                if core.config.run_scheduler && core.is_scheduler(&cell) && !core.shutdown.is_cancelled() {
                    core.restart_scheduler().await;
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => core.forget(&cell),
            _ => {}
        }
        Ok(())
    }
}
