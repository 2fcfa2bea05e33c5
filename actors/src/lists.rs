//! The lists service: a team's contact lists (static lists whose members are added by id or by
//! a filter, and segments: a saved filter evaluated when read) and bulk changes to contacts
//! picked by id. These are the audiences campaigns send to. Rules live in `rules::lists`;
//! every change is one set-based statement in the store; deletions are audited, and every
//! change to a list (and each contact a bulk change changed, as `contact.changed`) is announced
//! on the team channel so every open contacts page follows.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{ContactList, ListKind, SegmentFilter, event};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{AuditWrites, BulkChange, ContactFilter, ListStore};
use crate::protocol::ChannelName;
use crate::rules;
use std::sync::Arc;

/// A team's lists and bulk changes.
pub struct Lists {
    store: Arc<dyn ListStore>,
    audit: Arc<dyn AuditWrites>,
    fanout: Arc<Fanout>,
}

impl Lists {
    pub fn new(store: Arc<dyn ListStore>, audit: Arc<dyn AuditWrites>, fanout: Arc<Fanout>) -> Self {
        Lists { store, audit, fanout }
    }

    async fn filter(&self, team: TeamId, filter: SegmentFilter) -> DomainResult<SegmentFilter> {
        rules::lists::segment_filter(filter, &self.store.contact_fields(team).await?)
    }

    /// A new list: a static one (no filter) or a segment (its filter).
    pub async fn create(&self, by: &Actor, name: &str, kind: ListKind, filter: Option<SegmentFilter>) -> DomainResult<ContactList> {
        let name = rules::lists::list_name(name)?;
        let filter = match (kind, filter) {
            (ListKind::Static, None) => None,
            (ListKind::Static, Some(_)) => return Err(DomainError::invalid("filter", "a static list has no filter: add members instead")),
            (ListKind::Segment, f) => Some(self.filter(by.team(), f.unwrap_or_default()).await?),
        };
        let list = self.store.create_list(by.team(), Some(by.user.id), &name, kind, filter.as_ref()).await?;
        self.changed(&list);
        Ok(list)
    }

    /// Renames a list, or replaces a segment's filter.
    pub async fn update(&self, by: &Actor, id: ListId, name: Option<&str>, filter: Option<SegmentFilter>) -> DomainResult<ContactList> {
        let name = name.map(rules::lists::list_name).transpose()?;
        let filter = match filter {
            None => None,
            Some(f) => {
                if self.store.list(by.team(), id).await?.kind != ListKind::Segment {
                    return Err(DomainError::invalid("filter", "only a segment has a filter"));
                }
                Some(self.filter(by.team(), f).await?)
            }
        };
        let list = self.store.update_list(by.team(), id, name.as_deref(), filter.as_ref()).await?;
        self.changed(&list);
        Ok(list)
    }

    /// Deletes a list (its contacts stay); audited.
    pub async fn delete(&self, by: &Actor, id: ListId) -> DomainResult<()> {
        let list = self.store.list(by.team(), id).await?;
        self.store.delete_list(by.team(), id).await?;
        self.fanout.publish(ChannelName::Team(by.team()), event::LIST_DELETED, &serde_json::json!({ "id": id }));
        let details = serde_json::json!({ "name": list.name, "kind": list.kind, "members": list.member_count });
        self.record(by, "list.deleted", "list", Some(id.to_string()), details).await;
        Ok(())
    }

    async fn static_list(&self, team: TeamId, id: ListId) -> DomainResult<()> {
        match self.store.list(team, id).await?.kind {
            ListKind::Static => Ok(()),
            ListKind::Segment => Err(DomainError::invalid("list", "a segment's members follow its filter: change the filter instead")),
        }
    }

    /// Adds contacts of the team (live ones; others are passed over) to a static list.
    pub async fn add_members(&self, by: &Actor, id: ListId, ids: Vec<ContactId>) -> DomainResult<u64> {
        let ids = rules::lists::bulk_ids(ids)?;
        self.static_list(by.team(), id).await?;
        let added = self.store.add_list_members(by.team(), id, &ids).await?;
        self.refreshed(by.team(), id).await;
        Ok(added)
    }

    /// Adds every live contact that `search` and `tag` select to a static list, at once.
    pub async fn add_matching(&self, by: &Actor, id: ListId, search: Option<String>, tag: Option<String>) -> DomainResult<u64> {
        self.static_list(by.team(), id).await?;
        let filter = ContactFilter { search, tag, ..ContactFilter::default() };
        let added = self.store.add_list_members_matching(by.team(), id, &filter).await?;
        self.refreshed(by.team(), id).await;
        Ok(added)
    }

    /// Takes contacts off a static list.
    pub async fn remove_members(&self, by: &Actor, id: ListId, ids: Vec<ContactId>) -> DomainResult<u64> {
        let ids = rules::lists::bulk_ids(ids)?;
        self.static_list(by.team(), id).await?;
        let removed = self.store.remove_list_members(by.team(), id, &ids).await?;
        self.refreshed(by.team(), id).await;
        Ok(removed)
    }

    /// One change to up to 1,000 contacts picked by id (the team's live ones), audited once.
    pub async fn bulk(&self, by: &Actor, ids: Vec<ContactId>, change: BulkChange) -> DomainResult<u64> {
        let ids = rules::lists::bulk_ids(ids)?;
        let change = match change {
            BulkChange::AddTag(t) => BulkChange::AddTag(one_tag(t)?),
            BulkChange::RemoveTag(t) => BulkChange::RemoveTag(one_tag(t)?),
            BulkChange::AddToList(list) => {
                self.static_list(by.team(), list).await?;
                BulkChange::AddToList(list)
            }
            BulkChange::Delete => BulkChange::Delete,
        };
        let affected = match &change {
            BulkChange::AddToList(list) => self.store.add_list_members(by.team(), *list, &ids).await?,
            _ => {
                // Every open contacts page follows, as for a change made one by one.
                let changed = self.store.bulk_change(by.team(), &ids, &change).await?;
                let action = if change == BulkChange::Delete { "deleted" } else { "updated" };
                for c in &changed {
                    let data = serde_json::json!({ "action": action, "id": c.id, "contact": c });
                    self.fanout.publish(ChannelName::Team(by.team()), event::CONTACT_CHANGED, &data);
                }
                changed.len() as u64
            }
        };
        let (action, details) = match &change {
            BulkChange::AddTag(t) => ("contacts.tagged", serde_json::json!({ "tag": t })),
            BulkChange::RemoveTag(t) => ("contacts.untagged", serde_json::json!({ "tag": t })),
            BulkChange::AddToList(l) => ("contacts.listed", serde_json::json!({ "list_id": l })),
            BulkChange::Delete => ("contacts.deleted", serde_json::json!({})),
        };
        let details = match details {
            serde_json::Value::Object(mut m) => {
                m.insert("requested".into(), ids.len().into());
                m.insert("affected".into(), affected.into());
                serde_json::Value::Object(m)
            }
            d => d,
        };
        self.record(by, action, "contact", None, details).await;
        if let BulkChange::AddToList(list) = change {
            self.refreshed(by.team(), list).await;
        }
        Ok(affected)
    }

    fn changed(&self, list: &ContactList) {
        self.fanout.publish(ChannelName::Team(list.team_id), event::LIST_UPDATED, &serde_json::json!({ "list": list }));
    }

    /// Announces a list's new member count.
    async fn refreshed(&self, team: TeamId, id: ListId) {
        if let Ok(list) = self.store.list(team, id).await {
            self.changed(&list);
        }
    }

    async fn record(
        &self,
        by: &Actor,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<String>,
        details: serde_json::Value,
    ) {
        crate::audit::record(&*self.audit, NewAuditEntry::by(by, action, target_type, target_id, details)).await
    }
}

/// The one tag of a bulk tag change.
fn one_tag(tag: String) -> DomainResult<String> {
    match rules::tags(vec![tag])?.pop() {
        Some(t) => Ok(t),
        None => Err(DomainError::invalid("tag", "is empty")),
    }
}
