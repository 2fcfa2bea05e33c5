//! Ports of labels: the team's labels for conversations. Putting labels on a thread is a thread
//! change (`ThreadWrites::update_thread`), not here.

use crate::audit::Actor;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;

/// Reads of a team's labels.
#[async_trait]
pub trait LabelReads: Send + Sync {
    /// The team's labels, by name (case-insensitive). A team has at most a few hundred.
    async fn labels(&self, team: TeamId) -> DomainResult<Vec<Label>>;
}

/// Writes to a team's labels (the labels service is their one caller).
#[async_trait]
pub trait LabelWrites: Send + Sync {
    /// A new label; Conflict when the team has one of that name (any case), invalid `labels`
    /// when the team already has `max` labels.
    async fn create_label(&self, team: TeamId, name: &str, color: &str, max: usize) -> DomainResult<Label>;
    /// Renames and/or recolours a label; Conflict on a taken name.
    async fn update_label(&self, team: TeamId, id: LabelId, name: Option<&str>, color: Option<&str>) -> DomainResult<Label>;
    /// Deletes a label of `by`'s team, takes it off every thread, and records `label.deleted` in
    /// the audit log, in one transaction; answers the label as it was and how many threads had it.
    async fn delete_label(&self, by: &Actor, id: LabelId) -> DomainResult<(Label, u64)>;
}
