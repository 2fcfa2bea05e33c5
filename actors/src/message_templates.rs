//! The approved templates service (issue 14 part 5): a team's WhatsApp (and SMS) templates,
//! entered by hand or synced from Twilio's Content API, and the rendering of one for a send.
//! Admins manage them; everyone lists and uses them. Changes are live on the team channel
//! (`template.updated` / `template.deleted`); a delete is audit-logged.
//!
//! A send with a template comes here first (`for_send`): the values are checked, a value the
//! sender left out takes its variable's default rendered for the conversation by the one engine
//! (`templates.rs`), the body is rendered, and a missing value is 422 `missing_variables`
//! before anything is stored. The draft then carries the rendered text (what the thread shows)
//! and the `ContentRef` (what Twilio gets).

use crate::audit::Actor;
use crate::domain::{ChannelKind, Team, User, event};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{ContentApi, ContentItem, Page, TemplateStore};
use crate::protocol::ChannelName;
use crate::rules::message_templates::{self as rules, ContentRef, MessageTemplate, TemplateVariable};
use crate::templates::{Rendered, TemplateContext};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// A template as someone enters it (raw: the rules check it).
#[derive(Clone, Debug)]
pub struct TemplateInput {
    pub name: String,
    pub channel_kind: ChannelKind,
    pub content_sid: Option<String>,
    pub body: String,
    pub variables: Vec<TemplateVariable>,
}

/// Changes to a template; `None` leaves a field as it is (`content_sid: Some(None)` clears it).
#[derive(Clone, Debug, Default)]
pub struct TemplateChange {
    pub name: Option<String>,
    pub channel_kind: Option<ChannelKind>,
    pub content_sid: Option<Option<String>>,
    pub body: Option<String>,
    pub variables: Option<Vec<TemplateVariable>>,
}

/// What a template send stores and sends.
#[derive(Clone, Debug)]
pub struct TemplateSend {
    /// The rendered text: the message's body in the thread.
    pub text: String,
    /// Twilio's `ContentSid` + `ContentVariables`; `None` for a template without a sid (sent
    /// as its text, like any message).
    pub content: Option<ContentRef>,
}

/// Whom a template is rendered for: a conversation, or a contact on a kind of channel (the
/// first message of a new conversation, whose thread may not exist yet).
#[derive(Clone, Copy, Debug)]
pub enum TemplateTarget {
    Thread(ThreadId),
    Contact(ContactId, ChannelKind),
}

/// What a sync did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SyncReport {
    /// Templates created or changed.
    pub synced: usize,
    /// Content items left out (no text body Switchboard can show, or refused by the rules).
    pub skipped: usize,
}

/// The team's approved templates.
pub struct MessageTemplates {
    store: Arc<dyn TemplateStore>,
    content: Arc<dyn ContentApi>,
    fanout: Arc<Fanout>,
}

impl MessageTemplates {
    pub fn new(store: Arc<dyn TemplateStore>, content: Arc<dyn ContentApi>, fanout: Arc<Fanout>) -> Self {
        MessageTemplates { store, content, fanout }
    }

    pub async fn list(
        &self,
        by: &User,
        kind: Option<ChannelKind>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<MessageTemplate>> {
        self.store.list_templates(by.team_id, kind, cursor, limit).await
    }

    pub async fn get(&self, by: &User, id: TemplateId) -> DomainResult<MessageTemplate> {
        self.store.template(by.team_id, id).await
    }

    pub async fn create(&self, by: &User, input: TemplateInput) -> DomainResult<MessageTemplate> {
        rules::may_manage(by)?;
        let fields = rules::fields(&input.name, input.channel_kind, input.content_sid.as_deref(), &input.body, input.variables)?;
        let template = self.store.create_template(by.team_id, by.id, fields).await?;
        self.publish_updated(&template);
        Ok(template)
    }

    pub async fn update(&self, by: &User, id: TemplateId, change: TemplateChange) -> DomainResult<MessageTemplate> {
        rules::may_manage(by)?;
        let old = self.store.template(by.team_id, id).await?;
        let sid = match change.content_sid {
            Some(sid) => sid,
            None => old.content_sid.clone(),
        };
        let fields = rules::fields(
            change.name.as_deref().unwrap_or(&old.name),
            change.channel_kind.unwrap_or(old.channel_kind),
            sid.as_deref(),
            change.body.as_deref().unwrap_or(&old.body),
            change.variables.unwrap_or(old.variables),
        )?;
        let template = self.store.update_template(by.team_id, id, fields).await?;
        self.publish_updated(&template);
        Ok(template)
    }

    pub async fn delete(&self, by: &Actor, id: TemplateId) -> DomainResult<()> {
        rules::may_manage(&by.user)?;
        let template = self.store.delete_template(by, id).await?;
        self.fanout.publish(ChannelName::Team(template.team_id), event::TEMPLATE_DELETED, &serde_json::json!({ "id": template.id }));
        Ok(())
    }

    /// Reads every template of the accounts of the team's Twilio channels from the Content API
    /// and stores them (WhatsApp templates, updated by Content sid). A team on the simulator
    /// alone has no account to read: 422.
    pub async fn sync(&self, by: &User) -> DomainResult<SyncReport> {
        rules::may_manage(by)?;
        let channels = self.store.channels(by.team_id).await?;
        let mut accounts = HashSet::new();
        let mut items: Vec<ContentItem> = Vec::new();
        for ch in channels.iter().filter(|c| !c.simulated) {
            if !accounts.insert(ch.account_sid.clone()) {
                continue;
            }
            let listed = self.content.list(&ch.account_sid, &ch.auth_token).await.map_err(|e| {
                tracing::warn!(account = %ch.account_sid, error = %e, "the Content API refused a sync");
                DomainError::invalid("content_api", format!("Twilio's Content API answered: {e}"))
            })?;
            items.extend(listed);
        }
        if accounts.is_empty() {
            return Err(DomainError::invalid("content_api", "connect a Twilio number first: the simulator has no Content API"));
        }
        let mut skipped = 0;
        let mut synced = Vec::new();
        for item in items {
            let name: String = item.friendly_name.chars().take(rules::MAX_NAME_CHARS).collect();
            match rules::fields(&name, ChannelKind::Whatsapp, Some(&item.sid), &item.body, item.variables) {
                Ok(fields) => synced.push(fields),
                Err(e) => {
                    tracing::info!(sid = %item.sid, error = %e, "a Content API template was left out of the sync");
                    skipped += 1;
                }
            }
        }
        let changed = self.store.upsert_synced(by.team_id, by.id, synced).await?;
        for template in &changed {
            self.publish_updated(template);
        }
        Ok(SyncReport { synced: changed.len(), skipped })
    }

    /// Template `id` rendered for `to` with the sender's `values` (defaults for the rest),
    /// without checking that every value is there: the picker's preview.
    pub async fn preview(
        &self,
        by: &User,
        team: &Team,
        to: TemplateTarget,
        id: TemplateId,
        values: BTreeMap<String, String>,
    ) -> DomainResult<Rendered> {
        Ok(self.render(by, team, to, id, values).await?.2)
    }

    /// What to store and send for template `id` to `to`: 422 `missing_variables` while a
    /// value is missing, 422 `template_id` when the template is for another kind of channel.
    pub async fn for_send(
        &self,
        by: &User,
        team: &Team,
        to: TemplateTarget,
        id: TemplateId,
        values: BTreeMap<String, String>,
    ) -> DomainResult<TemplateSend> {
        let (template, values, rendered) = self.render(by, team, to, id, values).await?;
        let text = rendered.complete()?;
        let content = template.content_sid.map(|sid| ContentRef { sid, variables: values });
        Ok(TemplateSend { text, content })
    }

    /// Template `id`, its values for `to` and its text rendered with them (missing values
    /// listed, not refused): the sender's values, then each default rendered for the contact
    /// (`rules::message_templates::values_for`, which campaigns use too). A template for another
    /// kind of channel is refused; another team's thread or contact is "not found".
    async fn render(
        &self,
        by: &User,
        team: &Team,
        to: TemplateTarget,
        id: TemplateId,
        given: BTreeMap<String, String>,
    ) -> DomainResult<(MessageTemplate, BTreeMap<String, String>, Rendered)> {
        let template = self.store.template(team.id, id).await?;
        // A new conversation's contact is loaded now (it must exist); a thread's only when a
        // default may need it.
        let (contact_id, contact, kind) = match to {
            TemplateTarget::Thread(thread) => {
                let summary = self.store.thread(team.id, thread).await?;
                (summary.contact.id, None, summary.channel.kind)
            }
            TemplateTarget::Contact(id, kind) => (id, Some(self.store.contact(team.id, id).await?), kind),
        };
        rules::fits(&template, kind)?;
        let contact = match contact {
            None if template.variables.iter().any(|v| v.default.is_some()) => Some(self.store.contact(team.id, contact_id).await?),
            contact => contact,
        };
        let (values, rendered) = rules::values_for(&template, given, || {
            let contact = contact.as_ref().ok_or(DomainError::NotFound("contact"))?;
            Ok(TemplateContext::for_message(contact, by, team))
        })?;
        Ok((template, values, rendered))
    }

    fn publish_updated(&self, template: &MessageTemplate) {
        self.fanout.publish(ChannelName::Team(template.team_id), event::TEMPLATE_UPDATED, &serde_json::json!({ "template": template }));
    }
}

/// The body Switchboard shows of a Content API item: the first `body` of its types, `twilio/text`
/// first. `None` when no type has one (a media-only card, say).
pub fn content_body(types: &serde_json::Value) -> Option<String> {
    let types = types.as_object()?;
    let text = types.get("twilio/text").and_then(|t| t.get("body")).and_then(|b| b.as_str());
    text.or_else(|| types.values().find_map(|t| t.get("body").and_then(|b| b.as_str()))).map(str::to_owned)
}
