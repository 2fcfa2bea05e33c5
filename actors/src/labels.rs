//! The labels service: the team's labels for conversations (a name and a colour), managed by
//! admins. Putting labels on a conversation is a thread change through its actor
//! (`Threads::update`), not here.
//!
//! Changes are live on the team channel (`label.changed`, `label.deleted`). Deleting a label
//! takes it off every conversation in the statement that deletes it (a set-based change, like a
//! contact purge): the conversations' logs do not record it, and every inbox drops the label
//! from its rows when it hears `label.deleted`.

use crate::audit::Actor;
use crate::domain::{Label, User, event};
use crate::error::DomainResult;
use crate::fanout::Fanout;
use crate::ids::LabelId;
use crate::ports::LabelStore;
use crate::protocol::ChannelName;
use crate::rules::labels as rules;
use std::sync::Arc;

/// The team's labels.
pub struct Labels {
    store: Arc<dyn LabelStore>,
    fanout: Arc<Fanout>,
}

impl Labels {
    pub fn new(store: Arc<dyn LabelStore>, fanout: Arc<Fanout>) -> Self {
        Labels { store, fanout }
    }

    /// The team's labels, by name.
    pub async fn list(&self, by: &User) -> DomainResult<Vec<Label>> {
        self.store.labels(by.team_id).await
    }

    /// A new label (admins only).
    pub async fn create(&self, by: &User, name: &str, color: &str) -> DomainResult<Label> {
        rules::may_manage(by)?;
        let (name, color) = (rules::name(name)?, rules::color(color)?);
        let label = self.store.create_label(by.team_id, &name, &color, rules::MAX_PER_TEAM).await?;
        self.publish_changed(&label);
        Ok(label)
    }

    /// Renames and/or recolours a label (admins only).
    pub async fn update(&self, by: &User, id: LabelId, name: Option<&str>, color: Option<&str>) -> DomainResult<Label> {
        rules::may_manage(by)?;
        let name = name.map(rules::name).transpose()?;
        let color = color.map(rules::color).transpose()?;
        let label = self.store.update_label(by.team_id, id, name.as_deref(), color.as_deref()).await?;
        self.publish_changed(&label);
        Ok(label)
    }

    /// Deletes a label and takes it off every conversation (admins only, audit-logged).
    pub async fn delete(&self, by: &Actor, id: LabelId) -> DomainResult<()> {
        rules::may_manage(&by.user)?;
        let (label, _threads) = self.store.delete_label(by, id).await?;
        self.fanout.publish(ChannelName::Team(label.team_id), event::LABEL_DELETED, &serde_json::json!({ "id": label.id }));
        Ok(())
    }

    fn publish_changed(&self, label: &Label) {
        self.fanout.publish(ChannelName::Team(label.team_id), event::LABEL_CHANGED, &serde_json::json!({ "label": label }));
    }
}
