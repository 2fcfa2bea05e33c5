//! The canned replies service: an agent's saved answers (`/shortcut` in the composer), the team's
//! managed by admins and each agent's own, and the rendering of a reply (or any body) for one
//! conversation through the one template engine (`templates.rs`). Sending with `render` comes
//! here first, so a body whose variables have no value is refused before anything is stored:
//! a raw `{{contact.first_name}}` never reaches a customer, whatever the client does.
//!
//! Changes are live: a team reply's change is published on the team channel, a personal one's
//! on its owner's user channel (nobody else may see it), as `reply.changed` / `reply.deleted`.

use crate::audit::Actor;
use crate::domain::{CannedReply, ReplyScope, Team, User, event};
use crate::error::DomainResult;
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{NewReply, Page, ReplyPatch, ReplyStore};
use crate::protocol::ChannelName;
use crate::rules::replies as rules;
use crate::templates::{Rendered, Template, TemplateContext};
use std::sync::Arc;

/// A reply as someone enters it (raw: the rules check it).
#[derive(Clone, Debug)]
pub struct ReplyInput {
    pub scope: ReplyScope,
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

/// Changes to a reply as someone enters them; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ReplyChange {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
}

/// Whom a rendered text is for: an existing conversation, or a contact (a first message on a
/// channel, whose thread may not exist yet).
#[derive(Clone, Copy, Debug)]
pub enum Recipient {
    Thread(ThreadId),
    Contact(ContactId),
}

/// The team's canned replies.
pub struct Replies {
    store: Arc<dyn ReplyStore>,
    fanout: Arc<Fanout>,
}

impl Replies {
    pub fn new(store: Arc<dyn ReplyStore>, fanout: Arc<Fanout>) -> Self {
        Replies { store, fanout }
    }

    /// The replies `by` sees (the team's and their own), by shortcut, matching `search`.
    pub async fn list(&self, by: &User, search: Option<&str>, cursor: Option<&str>, limit: i64) -> DomainResult<Page<CannedReply>> {
        self.store.list_replies(by.team_id, by.id, search, cursor, limit).await
    }

    /// One reply `by` sees ("not found" otherwise).
    pub async fn get(&self, by: &User, id: ReplyId) -> DomainResult<CannedReply> {
        let reply = self.store.reply(by.team_id, id).await?;
        if !rules::visible(by, &reply) {
            return Err(crate::DomainError::NotFound("reply"));
        }
        Ok(reply)
    }

    /// A new reply: a team one (admins only) or one of `by`'s own.
    pub async fn create(&self, by: &User, input: ReplyInput) -> DomainResult<CannedReply> {
        let owner = rules::new_owner(by, input.scope)?;
        let new = NewReply {
            team: by.team_id,
            owner,
            shortcut: rules::shortcut(&input.shortcut)?,
            title: rules::title(&input.title)?,
            body: rules::body(&input.body)?,
            created_by: by.id,
        };
        let reply = self.store.create_reply(new).await?;
        self.publish_changed(&reply);
        Ok(reply)
    }

    /// Changes a reply `by` may manage.
    pub async fn update(&self, by: &User, id: ReplyId, change: ReplyChange) -> DomainResult<CannedReply> {
        rules::may_manage(by, &self.store.reply(by.team_id, id).await?)?;
        let patch = ReplyPatch {
            shortcut: change.shortcut.as_deref().map(rules::shortcut).transpose()?,
            title: change.title.as_deref().map(rules::title).transpose()?,
            body: change.body.as_deref().map(rules::body).transpose()?,
        };
        let reply = self.store.update_reply(by.team_id, id, patch).await?;
        self.publish_changed(&reply);
        Ok(reply)
    }

    /// Deletes a reply `by` may manage (audit-logged).
    pub async fn delete(&self, by: &Actor, id: ReplyId) -> DomainResult<()> {
        rules::may_manage(&by.user, &self.store.reply(by.team(), id).await?)?;
        let reply = self.store.delete_reply(by, id).await?;
        let data = serde_json::json!({ "id": reply.id, "scope": reply.scope });
        self.fanout.publish(channel_of(&reply), event::REPLY_DELETED, &data);
        Ok(())
    }

    /// Renders `body` for `to`, as `by` of `team` would send it: the text with missing
    /// variables left visible, and their list. 422 `body` for a body that is no template.
    pub async fn preview(&self, by: &User, team: &Team, to: Recipient, body: &str) -> DomainResult<Rendered> {
        let template = Template::parse(&rules::body(body)?).map_err(|e| e.invalid("body"))?;
        template.render(&self.context(by, team, to).await?)
    }

    /// The text to send for `body` rendered for `to`; `MissingVariables` (nothing sent) when
    /// any variable has no value.
    pub async fn render_for_send(&self, by: &User, team: &Team, to: Recipient, body: &str) -> DomainResult<String> {
        let template = Template::parse(body).map_err(|e| e.invalid("body"))?;
        if template.variables().is_empty() {
            return Ok(body.to_owned());
        }
        template.render(&self.context(by, team, to).await?)?.complete()
    }

    /// The text to send for reply `id` (one `by` sees) rendered for `to`.
    pub async fn render_reply_for_send(&self, by: &User, team: &Team, to: Recipient, id: ReplyId) -> DomainResult<String> {
        let reply = self.get(by, id).await?;
        self.render_for_send(by, team, to, &reply.body).await
    }

    /// The values for a message from `by` to `to` (a thread or contact of `team`: another
    /// team's is "not found").
    async fn context(&self, by: &User, team: &Team, to: Recipient) -> DomainResult<TemplateContext> {
        let contact = match to {
            Recipient::Thread(thread) => self.store.thread(team.id, thread).await?.contact.id,
            Recipient::Contact(contact) => contact,
        };
        let contact = self.store.contact(team.id, contact).await?;
        Ok(TemplateContext::for_message(&contact, by, team))
    }

    fn publish_changed(&self, reply: &CannedReply) {
        self.fanout.publish(channel_of(reply), event::REPLY_CHANGED, &serde_json::json!({ "reply": reply }));
    }
}

/// Who hears about a reply: the team, or only the owner of a personal one.
fn channel_of(reply: &CannedReply) -> ChannelName {
    match reply.owner_id {
        Some(owner) => ChannelName::User(owner),
        None => ChannelName::Team(reply.team_id),
    }
}
