//! Ports of approved message templates: the team's templates (Postgres), and Twilio's Content
//! API, where they are registered and approved (the real client lives in `src/content_api.rs`).

use super::*;
use crate::error::DomainResult;
use crate::ids::*;
use crate::rules::message_templates::{MessageTemplate, TemplateFields, TemplateVariable};
use async_trait::async_trait;

/// Reads of a team's templates.
#[async_trait]
pub trait TemplateReads: Send + Sync {
    /// The team's templates by name, after an opaque cursor; only `kind` when given.
    async fn list_templates(
        &self,
        team: TeamId,
        kind: Option<crate::domain::ChannelKind>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<MessageTemplate>>;
    async fn template(&self, team: TeamId, id: TemplateId) -> DomainResult<MessageTemplate>;
}

/// Writes to templates (the templates service is their one caller).
#[async_trait]
pub trait TemplateWrites: Send + Sync {
    /// Conflict when another template of the team has its Content sid.
    async fn create_template(&self, team: TeamId, by: UserId, fields: TemplateFields) -> DomainResult<MessageTemplate>;
    async fn update_template(&self, team: TeamId, id: TemplateId, fields: TemplateFields) -> DomainResult<MessageTemplate>;
    /// Deletes it and records `template.deleted` in the audit log, in one transaction.
    async fn delete_template(&self, by: &Actor, id: TemplateId) -> DomainResult<MessageTemplate>;
    /// Creates or updates (by Content sid) each synced template, in one transaction; answers
    /// the templates that changed.
    async fn upsert_synced(&self, team: TeamId, by: UserId, synced: Vec<TemplateFields>) -> DomainResult<Vec<MessageTemplate>>;
}

/// What the templates service uses of the store.
pub trait TemplateStore: TemplateReads + TemplateWrites + ThreadReads + ContactReads + ChannelReads {}
impl<T: TemplateReads + TemplateWrites + ThreadReads + ContactReads + ChannelReads> TemplateStore for T {}

/// One template as the Content API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentItem {
    pub sid: String,
    pub friendly_name: String,
    /// The text of its first type that has one (`twilio/text`'s body, …).
    pub body: String,
    pub variables: Vec<TemplateVariable>,
}

/// A refusal or failure of the Content API.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct ContentApiError(pub String);

/// Twilio's Content API: `GET {base}/v1/Content` with the account's credentials, every page.
#[async_trait]
pub trait ContentApi: Send + Sync {
    async fn list(&self, account_sid: &str, auth_token: &secrecy::SecretString) -> Result<Vec<ContentItem>, ContentApiError>;
}
