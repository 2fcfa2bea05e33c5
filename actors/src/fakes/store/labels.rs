//! `LabelReads` / `LabelWrites` in memory: a name unique per team regardless of case, at most
//! `max` labels a team, and a deletion that takes the label off every thread and is recorded in
//! the audit log with the change, as the Postgres store does.

use super::{MemoryStore, now, storable};
use crate::audit::Actor;
use crate::domain::Label;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{LabelReads, LabelWrites};
use async_trait::async_trait;

const DUPLICATE_NAME: &str = "a label with this name already exists";

impl super::State {
    fn label_name_taken(&self, team: TeamId, name: &str, except: Option<LabelId>) -> bool {
        self.labels.values().any(|l| l.team_id == team && l.name.to_lowercase() == name.to_lowercase() && Some(l.id) != except)
    }
}

#[async_trait]
impl LabelReads for MemoryStore {
    async fn labels(&self, team: TeamId) -> DomainResult<Vec<Label>> {
        self.enter("labels").await?;
        let mut labels: Vec<Label> = self.state().labels.values().filter(|l| l.team_id == team).cloned().collect();
        labels.sort_by_key(|a| (a.name.to_lowercase(), a.id));
        Ok(labels)
    }
}

#[async_trait]
impl LabelWrites for MemoryStore {
    async fn create_label(&self, team: TeamId, name: &str, color: &str, max: usize) -> DomainResult<Label> {
        self.enter("create_label").await?;
        storable("name", name)?;
        let mut s = self.state();
        if s.labels.values().filter(|l| l.team_id == team).count() >= max {
            return Err(DomainError::invalid("labels", format!("a team has at most {max} labels")));
        }
        if s.label_name_taken(team, name, None) {
            return Err(DomainError::Conflict(DUPLICATE_NAME.into()));
        }
        let label = Label { id: LabelId::new(), team_id: team, name: name.to_owned(), color: color.to_owned(), created_at: now() };
        s.labels.insert(label.id, label.clone());
        Ok(label)
    }

    async fn update_label(&self, team: TeamId, id: LabelId, name: Option<&str>, color: Option<&str>) -> DomainResult<Label> {
        self.enter("update_label").await?;
        let mut s = self.state();
        let mut label = s.labels.get(&id).filter(|l| l.team_id == team).cloned().ok_or(DomainError::NotFound("label"))?;
        if let Some(name) = name {
            if s.label_name_taken(team, name, Some(id)) {
                return Err(DomainError::Conflict(DUPLICATE_NAME.into()));
            }
            label.name = name.to_owned();
        }
        if let Some(color) = color {
            label.color = color.to_owned();
        }
        s.labels.insert(id, label.clone());
        Ok(label)
    }

    async fn delete_label(&self, by: &Actor, id: LabelId) -> DomainResult<(Label, u64)> {
        self.enter("delete_label").await?;
        let mut s = self.state();
        let team = by.team();
        if s.labels.get(&id).is_none_or(|l| l.team_id != team) {
            return Err(DomainError::NotFound("label"));
        }
        let label = s.labels.remove(&id).expect("checked above");
        let mut threads = 0;
        for t in s.threads.values_mut() {
            let before = t.labels.len();
            t.labels.retain(|l| *l != id);
            threads += (t.labels.len() != before) as u64;
        }
        for rule in s.rules.values_mut().filter(|r| r.team_id == team) {
            rule.actions.add_labels.retain(|l| *l != id);
        }
        let details = serde_json::json!({ "name": label.name, "color": label.color, "threads": threads });
        s.audit_push(Some(team), Some(by.user.id), "label.deleted", "label", Some(id.to_string()), &by.client, details);
        Ok((label, threads))
    }
}
