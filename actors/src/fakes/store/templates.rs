//! `TemplateReads` / `TemplateWrites` in memory: one template per Content sid in a team, listed by
//! name with keyset pages, a sync that upserts by Content sid (an unchanged one is not told
//! again), and a deletion recorded in the audit log with the change, as the Postgres store does.

use super::{MemoryStore, now, page};
use crate::audit::Actor;
use crate::domain::ChannelKind;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{Page, TemplateReads, TemplateWrites};
use crate::rules::message_templates::{MessageTemplate, TemplateFields};
use async_trait::async_trait;

fn cursor_of(t: &MessageTemplate) -> String {
    hex::encode(format!("{}|{}", t.name, t.id))
}

fn decode(cursor: &str) -> DomainResult<(String, uuid::Uuid)> {
    let bad = || DomainError::invalid("cursor", "is not a cursor this server gave out");
    let raw = String::from_utf8(hex::decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (name, id) = raw.rsplit_once('|').ok_or_else(bad)?;
    Ok((name.to_owned(), id.parse().map_err(|_| bad())?))
}

impl super::State {
    fn sid_taken(&self, team: TeamId, sid: &Option<String>, except: Option<TemplateId>) -> bool {
        sid.is_some() && self.templates.values().any(|t| t.team_id == team && &t.content_sid == sid && Some(t.id) != except)
    }
}

fn apply(t: &mut MessageTemplate, f: TemplateFields) {
    t.name = f.name;
    t.channel_kind = f.channel_kind;
    t.content_sid = f.content_sid;
    t.body = f.body;
    t.variables = f.variables;
    t.updated_at = now();
}

#[async_trait]
impl TemplateReads for MemoryStore {
    async fn list_templates(
        &self,
        team: TeamId,
        kind: Option<ChannelKind>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<MessageTemplate>> {
        self.enter("list_templates").await?;
        let after = cursor.map(decode).transpose()?;
        let s = self.state();
        let mut rows: Vec<MessageTemplate> = s
            .templates
            .values()
            .filter(|t| t.team_id == team && kind.is_none_or(|k| t.channel_kind == k))
            .filter(|t| after.as_ref().is_none_or(|(n, id)| (t.name.as_str(), t.id.0) > (n.as_str(), *id)))
            .cloned()
            .collect();
        rows.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        Ok(page(rows, limit, cursor_of))
    }

    async fn template(&self, team: TeamId, id: TemplateId) -> DomainResult<MessageTemplate> {
        self.enter("template").await?;
        self.state().templates.get(&id).filter(|t| t.team_id == team).cloned().ok_or(DomainError::NotFound("template"))
    }
}

/// A new template of `team` made by `by` from `f`.
fn new_template(team: TeamId, by: UserId, f: TemplateFields) -> MessageTemplate {
    let at = now();
    let mut t = MessageTemplate {
        id: TemplateId::new(),
        team_id: team,
        name: String::new(),
        channel_kind: f.channel_kind,
        content_sid: None,
        body: String::new(),
        variables: vec![],
        created_by: Some(by),
        created_at: at,
        updated_at: at,
    };
    apply(&mut t, f);
    t
}

#[async_trait]
impl TemplateWrites for MemoryStore {
    async fn create_template(&self, team: TeamId, by: UserId, f: TemplateFields) -> DomainResult<MessageTemplate> {
        self.enter("create_template").await?;
        let mut s = self.state();
        if s.sid_taken(team, &f.content_sid, None) {
            return Err(DomainError::Conflict("a template with this Content sid already exists".into()));
        }
        let t = new_template(team, by, f);
        s.templates.insert(t.id, t.clone());
        Ok(t)
    }

    async fn update_template(&self, team: TeamId, id: TemplateId, f: TemplateFields) -> DomainResult<MessageTemplate> {
        self.enter("update_template").await?;
        let mut s = self.state();
        let mut t = s.templates.get(&id).filter(|t| t.team_id == team).cloned().ok_or(DomainError::NotFound("template"))?;
        if s.sid_taken(team, &f.content_sid, Some(id)) {
            return Err(DomainError::Conflict("a template with this Content sid already exists".into()));
        }
        apply(&mut t, f);
        s.templates.insert(id, t.clone());
        Ok(t)
    }

    async fn delete_template(&self, by: &Actor, id: TemplateId) -> DomainResult<MessageTemplate> {
        self.enter("delete_template").await?;
        let mut s = self.state();
        let team = by.team();
        if s.templates.get(&id).is_none_or(|t| t.team_id != team) {
            return Err(DomainError::NotFound("template"));
        }
        let t = s.templates.remove(&id).expect("checked above");
        let details = serde_json::json!({ "name": t.name, "content_sid": t.content_sid, "channel_kind": t.channel_kind });
        s.audit_push(Some(team), Some(by.user.id), "template.deleted", "template", Some(id.to_string()), &by.client, details);
        Ok(t)
    }

    async fn upsert_synced(&self, team: TeamId, by: UserId, synced: Vec<TemplateFields>) -> DomainResult<Vec<MessageTemplate>> {
        self.enter("upsert_synced").await?;
        let mut s = self.state();
        let mut changed = Vec::new();
        for f in synced {
            let existing =
                s.templates.values().find(|t| t.team_id == team && t.content_sid.is_some() && t.content_sid == f.content_sid).cloned();
            let t = match existing {
                Some(mut t) if (&t.name, &t.body, &t.variables) != (&f.name, &f.body, &f.variables) => {
                    let channel_kind = t.channel_kind;
                    apply(&mut t, TemplateFields { channel_kind, ..f });
                    t
                }
                Some(_) => continue,
                None => new_template(team, by, f),
            };
            s.templates.insert(t.id, t.clone());
            changed.push(t);
        }
        Ok(changed)
    }
}
