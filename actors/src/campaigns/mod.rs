//! The campaigns service: what the edge asks of campaigns (create, edit, start, pause, resume,
//! cancel, duplicate, delete, preview, counts). Rules are in `rules::campaigns`; every status
//! change is a conditional write in the store (two tabs or nodes cannot both move one); every
//! change is announced on the team channel (`campaign.updated`, `campaign.deleted`) and the
//! destructive ones are audited. Sending is the runner's (`runner.rs`), on any node with a
//! scheduler.

pub mod content;
pub mod runner;

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{ChannelKind, Contact, Team, User};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{CampaignContent, CampaignPatch, CampaignStore, NewCampaign, Page, RecipientRow, StartPlan, Store};
use crate::protocol::ChannelName;
use crate::rules::campaigns::{self as rules, Action, Audience, AudienceInput, Campaign, CampaignCounts, CampaignRates, CampaignStatus};
use crate::rules::quiet_hours::{self, QuietHours};
use content::Content;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Team channel events of campaigns.
pub mod event {
    /// `{campaign, counts, rates}`: a campaign changed, or its counts moved (coalesced).
    pub const CAMPAIGN_UPDATED: &str = "campaign.updated";
    pub const CAMPAIGN_DELETED: &str = "campaign.deleted";
}

/// What the API sends to create or edit a campaign.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: Option<String>,
    pub channel_id: Option<ChannelId>,
    pub body: Option<String>,
    pub template_id: Option<uuid::Uuid>,
    /// An approved template (`/api/templates`) of the number's kind.
    pub content_template_id: Option<TemplateId>,
    /// Fixed values of the approved template's variables.
    pub content_variables: Option<BTreeMap<String, String>>,
    /// `{start, end}`; `null` clears (in a PATCH).
    #[serde(default, deserialize_with = "present")]
    pub quiet_hours: Option<Option<QuietHours>>,
    pub audience: Option<AudienceInput>,
    /// `null` clears it (in a PATCH).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub send_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub clear_send_at: bool,
}

/// A field given (even as `null`) is `Some`; an absent one stays `None` (serde's default).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A campaign with its counts, as the API answers it.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub counts: CampaignCounts,
    pub rates: CampaignRates,
    /// Campaign messages per second on its sender (the ETA's pace).
    pub per_second: f64,
}

/// One previewed recipient.
#[derive(Clone, Debug, Serialize)]
pub struct PreviewItem {
    pub contact_id: ContactId,
    pub name: String,
    pub phone: String,
    pub text: String,
    pub missing_variables: Vec<String>,
}

/// A team's campaigns.
pub struct Campaigns {
    store: Arc<dyn CampaignStore>,
    reads: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    pace: rules::CampaignPace,
    /// The sender's own budget (`SEND_RATE_PER_SECOND`), of which campaigns take a share.
    sender_rate: f64,
    /// Wakes this node's runner when a campaign starts or resumes here (it looks only once a
    /// second while nothing runs).
    pub(crate) wake: tokio::sync::Notify,
}

impl Campaigns {
    pub fn new(
        store: Arc<dyn CampaignStore>,
        reads: Arc<dyn Store>,
        fanout: Arc<Fanout>,
        pace: rules::CampaignPace,
        sender_rate: f64,
    ) -> Self {
        Campaigns { store, reads, fanout, pace, sender_rate, wake: tokio::sync::Notify::new() }
    }

    /// A new draft.
    pub async fn create(&self, by: &Actor, input: CampaignInput) -> DomainResult<CampaignView> {
        let team = by.team();
        let name = rules::name(input.name.as_deref().unwrap_or(""))?;
        let channel = input.channel_id.ok_or_else(|| DomainError::invalid("channel_id", "is required"))?;
        let kind = self.channel_kind(team, channel).await?;
        let content =
            Self::content(&input)?.ok_or_else(|| DomainError::invalid("body", "give a body, a template_id or a content_template_id"))?;
        let content = self.check_content(&by.user, content, kind).await?;
        let quiet_hours = input.quiet_hours.flatten().map(|q| quiet_hours::quiet_hours(q).map(|(q, _)| q)).transpose()?;
        let audience = rules::audience(input.audience.ok_or_else(|| DomainError::invalid("audience", "is required"))?)?;
        self.check_audience(team, &audience).await?;
        let send_at = match input.send_at {
            Some(at) => Some(self.future(at)?),
            None => None,
        };
        let new = NewCampaign {
            name,
            channel,
            body: content.body,
            template_id: content.template_id,
            content_template_id: content.content_template_id,
            content_variables: content.content_variables,
            quiet_hours,
            audience,
            send_at,
        };
        let campaign = self.store.create_campaign(team, by.user.id, &new).await?;
        self.changed(campaign).await
    }

    /// Edits a draft or scheduled campaign.
    pub async fn update(&self, by: &Actor, id: CampaignId, input: CampaignInput) -> DomainResult<CampaignView> {
        let team = by.team();
        let current = self.store.campaign(team, id).await?;
        rules::may_edit(current.status)?;
        let mut patch = CampaignPatch { name: input.name.as_deref().map(rules::name).transpose()?, ..CampaignPatch::default() };
        let channel = input.channel_id.unwrap_or(current.channel_id);
        let kind = self.channel_kind(team, channel).await?;
        if input.channel_id.is_some() {
            patch.channel = Some(channel);
        }
        // New content, or new fixed values for the current approved template; an approved
        // template must fit the (maybe new) number.
        match Self::content(&input)? {
            Some(content) => patch.content = Some(self.check_content(&by.user, content, kind).await?),
            None => {
                if input.content_variables.is_some() && current.content_template_id.is_none() {
                    return Err(DomainError::invalid("content_variables", "only with a content_template_id"));
                }
                if current.content_template_id.is_some() && (input.content_variables.is_some() || input.channel_id.is_some()) {
                    let values = input.content_variables.clone().unwrap_or_else(|| current.content_variables.clone());
                    let content = CampaignContent {
                        content_template_id: current.content_template_id,
                        content_variables: values.clone(),
                        ..CampaignContent::default()
                    };
                    self.check_content(&by.user, content, kind).await?;
                    patch.content_variables = input.content_variables.is_some().then_some(values);
                }
            }
        }
        if let Some(q) = input.quiet_hours {
            patch.quiet_hours = Some(q.map(|q| quiet_hours::quiet_hours(q).map(|(q, _)| q)).transpose()?);
        }
        if let Some(a) = input.audience {
            let audience = rules::audience(a)?;
            self.check_audience(team, &audience).await?;
            patch.audience = Some(audience);
        }
        if input.clear_send_at {
            patch.send_at = Some(None);
        } else if let Some(at) = input.send_at {
            patch.send_at = Some(Some(self.future(at)?));
        }
        let campaign = self.store.update_campaign(team, id, &patch).await?;
        self.changed(campaign).await
    }

    /// Deletes a campaign that is not running (soft; audited).
    pub async fn delete(&self, by: &Actor, id: CampaignId) -> DomainResult<()> {
        let current = self.store.campaign(by.team(), id).await?;
        rules::may_delete(current.status)?;
        let campaign = self.store.delete_campaign(by.team(), id).await?;
        let entry =
            NewAuditEntry::by(by, "campaign.deleted", "campaign", Some(id.to_string()), serde_json::json!({ "name": campaign.name }));
        crate::audit::record(self.reads.as_ref(), entry).await;
        self.fanout.publish(ChannelName::Team(by.team()), event::CAMPAIGN_DELETED, &serde_json::json!({ "id": id }));
        Ok(())
    }

    /// Starts a campaign now, or schedules it when its `send_at` is still ahead.
    pub async fn start(&self, by: &Actor, id: CampaignId) -> DomainResult<CampaignView> {
        let current = self.store.campaign(by.team(), id).await?;
        if current.send_at.is_some_and(|at| at > crate::clock::now()) {
            let to = rules::transition(current.status, Action::Schedule)?;
            let campaign = self.store.set_campaign_status(by.team(), id, &[current.status], to).await?;
            return self.changed(campaign).await;
        }
        rules::transition(current.status, Action::Start)?;
        let campaign = self.start_now(current).await?;
        let entry =
            NewAuditEntry::by(by, "campaign.started", "campaign", Some(id.to_string()), serde_json::json!({ "name": campaign.name }));
        crate::audit::record(self.reads.as_ref(), entry).await;
        self.changed(campaign).await
    }

    /// Fixes the audience and starts sending (the API's start, or the runner at `send_at`).
    pub(crate) async fn start_now(&self, campaign: Campaign) -> DomainResult<Campaign> {
        let kind = self.channel_kind(campaign.team_id, campaign.channel_id).await?;
        let (body, content) = self.content_of(&campaign, kind).await?;
        // A free-form WhatsApp message reaches only contacts inside the 24-hour window; an
        // approved template (sent with its ContentSid) reaches the others too.
        let plan = StartPlan { body, skip_outside_window: kind == ChannelKind::Whatsapp && !content.is_approved_with_sid() };
        let started = self.store.start_campaign(campaign.team_id, campaign.id, &plan).await?;
        self.wake.notify_one();
        Ok(started)
    }

    /// Ends a campaign the runner can never start or go on with (`rules::fails_for_good`), with
    /// the reason on its page; answers false when `e` is worth another try.
    pub(crate) async fn fail_if_for_good(&self, campaign: &Campaign, e: &DomainError) -> bool {
        let Some(reason) = rules::fails_for_good(e) else { return false };
        if rules::transition(campaign.status, Action::Fail).is_err() {
            return false;
        }
        match self.store.fail_campaign(campaign.team_id, campaign.id, campaign.status, &reason).await {
            Ok(failed) => {
                tracing::warn!(campaign = %campaign.id, reason, "a campaign failed: it can never be sent as it is");
                let _ = self.changed(failed).await;
                true
            }
            Err(e) => {
                tracing::debug!(campaign = %campaign.id, error = %e, "a campaign to fail moved meanwhile");
                false
            }
        }
    }

    /// Pauses a running campaign: no recipient is claimed from here on (in-flight sends end).
    pub async fn pause(&self, by: &Actor, id: CampaignId) -> DomainResult<CampaignView> {
        self.act(by, id, Action::Pause).await
    }

    /// Resumes a paused campaign with the recipients still queued.
    pub async fn resume(&self, by: &Actor, id: CampaignId) -> DomainResult<CampaignView> {
        let view = self.act(by, id, Action::Resume).await?;
        self.wake.notify_one();
        Ok(view)
    }

    /// Cancels a campaign: recipients still queued are skipped (audited).
    pub async fn cancel(&self, by: &Actor, id: CampaignId) -> DomainResult<CampaignView> {
        let view = self.act(by, id, Action::Cancel).await?;
        let entry =
            NewAuditEntry::by(by, "campaign.canceled", "campaign", Some(id.to_string()), serde_json::json!({ "name": view.campaign.name }));
        crate::audit::record(self.reads.as_ref(), entry).await;
        Ok(view)
    }

    async fn act(&self, by: &Actor, id: CampaignId, action: Action) -> DomainResult<CampaignView> {
        let current = self.store.campaign(by.team(), id).await?;
        let to = rules::transition(current.status, action)?;
        let campaign = self.store.set_campaign_status(by.team(), id, &[current.status], to).await?;
        self.changed(campaign).await
    }

    /// A new draft with the campaign's content and audience.
    pub async fn duplicate(&self, by: &Actor, id: CampaignId) -> DomainResult<CampaignView> {
        let c = self.store.campaign(by.team(), id).await?;
        let name: String = format!("Copy of {}", c.name).chars().take(rules::MAX_NAME_CHARS).collect();
        let new = NewCampaign {
            name,
            channel: c.channel_id,
            body: c.body,
            template_id: c.template_id,
            content_template_id: c.content_template_id,
            content_variables: c.content_variables,
            quiet_hours: c.quiet_hours,
            audience: c.audience,
            send_at: None,
        };
        let campaign = self.store.create_campaign(by.team(), by.user.id, &new).await?;
        self.changed(campaign).await
    }

    /// One campaign with its counts.
    pub async fn get(&self, team: TeamId, id: CampaignId) -> DomainResult<CampaignView> {
        let campaign = self.store.campaign(team, id).await?;
        self.view(campaign).await
    }

    /// The team's campaigns, newest first, with their counts.
    pub async fn list(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<CampaignView>> {
        let page = self.store.campaigns(team, cursor, limit).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for c in page.items {
            items.push(self.view(c).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// Recipients after `after` (the CSV export's pages).
    pub async fn recipients(&self, team: TeamId, id: CampaignId, after: i64, limit: i64) -> DomainResult<Vec<RecipientRow>> {
        self.store.campaign_recipients(team, id, after, limit).await
    }

    /// The body rendered for the first few contacts of the audience, each with the variables it
    /// has no value for (those would be skipped when sending).
    pub async fn preview(&self, by: &User, id: CampaignId) -> DomainResult<Vec<PreviewItem>> {
        let campaign = self.store.campaign(by.team_id, id).await?;
        let kind = self.channel_kind(by.team_id, campaign.channel_id).await?;
        let (_, content) = self.content_of(&campaign, kind).await?;
        let team = self.reads.team(by.team_id).await?;
        let sender = self.sender(&campaign, by).await;
        let contacts = self.store.audience_sample(by.team_id, &campaign.audience, rules::PREVIEW_RECIPIENTS).await?;
        contacts.into_iter().map(|c| preview_item(&content, &c, &sender, &team)).collect()
    }

    /// Who a campaign's `{{agent.*}}` variables name: its creator while a member, else `by`.
    async fn sender(&self, campaign: &Campaign, by: &User) -> User {
        match campaign.created_by {
            Some(id) if id != by.id => match self.reads.members(campaign.team_id).await {
                Ok(members) => members.into_iter().find(|m| m.id == id).unwrap_or_else(|| by.clone()),
                Err(_) => by.clone(),
            },
            _ => by.clone(),
        }
    }

    /// Tells the team a campaign changed (with its counts) and answers its view.
    pub(crate) async fn changed(&self, campaign: Campaign) -> DomainResult<CampaignView> {
        let view = self.view(campaign).await?;
        self.publish(&view);
        Ok(view)
    }

    /// `campaign.updated` on the team channel (every tab, every node).
    pub(crate) fn publish(&self, view: &CampaignView) {
        self.fanout.publish(ChannelName::Team(view.campaign.team_id), event::CAMPAIGN_UPDATED, view);
    }

    pub(crate) async fn view(&self, campaign: Campaign) -> DomainResult<CampaignView> {
        let counts = self.store.campaign_counts(campaign.id).await?;
        let per_second = self.per_second(&campaign).await;
        let moving = campaign.status == CampaignStatus::Running;
        let rates = rules::rates(&counts, moving.then_some(per_second), crate::clock::now());
        Ok(CampaignView { campaign, counts, rates, per_second })
    }

    async fn per_second(&self, campaign: &Campaign) -> f64 {
        match self.reads.channels(campaign.team_id).await {
            Ok(channels) => match channels.iter().find(|c| c.id == campaign.channel_id) {
                Some(ch) => self.pace.per_second(ch, self.sender_rate),
                None => 0.0,
            },
            Err(_) => 0.0,
        }
    }

    /// The content an input gives, if it gives one: exactly one of a body, a canned reply
    /// (`template_id`) or an approved template (`content_template_id`, with its fixed values).
    fn content(input: &CampaignInput) -> DomainResult<Option<CampaignContent>> {
        let given = [input.body.is_some(), input.template_id.is_some(), input.content_template_id.is_some()];
        match given.iter().filter(|g| **g).count() {
            0 => Ok(None),
            1 => {
                if input.content_variables.is_some() && input.content_template_id.is_none() {
                    return Err(DomainError::invalid("content_variables", "only with a content_template_id"));
                }
                Ok(Some(CampaignContent {
                    body: input.body.as_deref().map(rules::body).transpose()?,
                    template_id: input.template_id,
                    content_template_id: input.content_template_id,
                    content_variables: input.content_variables.clone().unwrap_or_default(),
                }))
            }
            _ => Err(DomainError::invalid("body", "give one of body, template_id and content_template_id")),
        }
    }

    /// Checks content against the team: a canned reply `by` may see (404 `template`), an
    /// approved template of the team (404 `template`) of the number's kind with values for its
    /// own keys (422).
    async fn check_content(&self, by: &User, content: CampaignContent, kind: ChannelKind) -> DomainResult<CampaignContent> {
        if let Some(id) = content.template_id {
            let reply = self.reads.reply(by.team_id, ReplyId(id)).await.map_err(|_| DomainError::NotFound("template"))?;
            if reply.owner_id.is_some_and(|o| o != by.id) {
                return Err(DomainError::NotFound("template"));
            }
        }
        if let Some(id) = content.content_template_id {
            let template = self.reads.template(by.team_id, id).await.map_err(|_| DomainError::NotFound("template"))?;
            Content::approved(template, content.content_variables.clone(), kind)?;
        }
        Ok(content)
    }

    /// What a campaign sends on a `kind` number: the body to fix at the start (`None` for an
    /// approved template) and the content to render per contact. The preview, the start and the
    /// runner read it here.
    pub(crate) async fn content_of(&self, campaign: &Campaign, kind: ChannelKind) -> DomainResult<(Option<String>, Content)> {
        if let Some(id) = campaign.content_template_id {
            let template = self.reads.template(campaign.team_id, id).await.map_err(|e| match e {
                DomainError::NotFound(_) => {
                    DomainError::invalid("content_template_id", "the approved template was deleted: pick another one")
                }
                e => e,
            })?;
            return Ok((None, Content::approved(template, campaign.content_variables.clone(), kind)?));
        }
        let body = match (&campaign.body, campaign.template_id) {
            (Some(body), _) => body.clone(),
            (None, Some(template)) => self.reads.reply(campaign.team_id, ReplyId(template)).await?.body,
            (None, None) => return Err(DomainError::invalid("body", "is required")),
        };
        let content = Content::body(&body)?;
        Ok((Some(body), content))
    }

    async fn channel_kind(&self, team: TeamId, channel: ChannelId) -> DomainResult<ChannelKind> {
        let channels = self.reads.channels(team).await?;
        channels
            .iter()
            .find(|c| c.id == channel)
            .map(|c| c.kind)
            .ok_or_else(|| DomainError::invalid("channel_id", "not a number of the team"))
    }

    /// A list audience must name a list of the team of the right kind.
    async fn check_audience(&self, team: TeamId, audience: &Audience) -> DomainResult<()> {
        let (id, want) = match audience {
            Audience::ListId(id) => (*id, crate::domain::ListKind::Static),
            Audience::SegmentId(id) => (*id, crate::domain::ListKind::Segment),
            _ => return Ok(()),
        };
        let list = self.reads.list(team, id).await.map_err(|_| DomainError::invalid("audience", "no such list"))?;
        if list.kind != want {
            let field = if want == crate::domain::ListKind::Static { "audience.list_id" } else { "audience.segment_id" };
            return Err(DomainError::invalid(field, "names a list of the other kind"));
        }
        Ok(())
    }

    fn future(&self, at: OffsetDateTime) -> DomainResult<OffsetDateTime> {
        if at <= crate::clock::now() {
            return Err(DomainError::invalid("send_at", "must be in the future"));
        }
        Ok(at)
    }
}

/// The message rendered for one contact.
fn preview_item(content: &Content, contact: &Contact, sender: &User, team: &Team) -> DomainResult<PreviewItem> {
    let rendered = content.render(contact, sender, team)?;
    Ok(PreviewItem {
        contact_id: contact.id,
        name: contact.name.clone(),
        phone: contact.phone.clone(),
        text: rendered.text,
        missing_variables: rendered.missing,
    })
}
