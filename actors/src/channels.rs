//! The channels service: a team's Twilio numbers. The numbers and Twilio identifiers are checked
//! once here; the auth token is kept and never shown again.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{Channel, ChannelKind, ChannelSettings};
use crate::error::{DomainError, DomainResult};
use crate::ids::ChannelId;
use crate::phone;
use crate::ports::{AuditWrites, ChannelStore, NewChannel};
use crate::rules::calls::{SettingsChange, apply_settings};
use std::sync::Arc;

/// A channel as an admin enters it (raw: checked here).
#[derive(Clone, Debug)]
pub struct ChannelInput {
    pub kind: ChannelKind,
    pub number: String,
    pub account_sid: String,
    pub auth_token: String,
    pub messaging_service_sid: Option<String>,
}

/// A team's channels.
pub struct Channels {
    store: Arc<dyn ChannelStore>,
    audit: Arc<dyn AuditWrites>,
}

impl Channels {
    /// The service over `store`, recording changes in `audit`.
    pub fn new(store: Arc<dyn ChannelStore>, audit: Arc<dyn AuditWrites>) -> Self {
        Channels { store, audit }
    }

    /// Adds a real Twilio number (the team leaves simulator mode); Conflict when the number is
    /// already configured.
    pub async fn create(&self, by: &Actor, input: ChannelInput) -> DomainResult<Channel> {
        by.require_admin("only admins may change the team's channels")?;
        let number = phone::normalize(&input.number, None).map_err(|_| DomainError::invalid("number", "is not a phone number"))?;
        let token = input.auth_token.trim();
        if token.len() < 16 || token.len() > 128 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(DomainError::invalid("auth_token", "is not a Twilio auth token"));
        }
        let channel = NewChannel {
            kind: input.kind,
            number,
            account_sid: sid(&input.account_sid, "AC", "account_sid")?,
            auth_token: token.to_owned(),
            messaging_service_sid: input
                .messaging_service_sid
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| sid(s, "MG", "messaging_service_sid"))
                .transpose()?,
            simulated: false,
        };
        let created = self.store.create_channel(by.team(), channel).await?;
        let details = serde_json::json!({ "kind": created.kind, "number": created.number, "account_sid": created.account_sid });
        self.record(by, "channel.created", &created.id, details).await;
        Ok(created)
    }

    /// Removes a channel; its threads stay readable.
    pub async fn delete(&self, by: &Actor, id: ChannelId) -> DomainResult<()> {
        by.require_admin("only admins may change the team's channels")?;
        self.store.delete_channel(by.team(), id).await?;
        self.record(by, "channel.deleted", &id, serde_json::json!({})).await;
        Ok(())
    }

    /// Changes what a call to the channel does (forwarding, greeting, voicemail) and its
    /// missed-call reply; every value checked by `rules::calls::apply_settings`.
    pub async fn update_settings(&self, by: &Actor, id: ChannelId, change: SettingsChange) -> DomainResult<ChannelSettings> {
        by.require_admin("only admins may change the team's channels")?;
        let current = self.store.channel_settings(by.team(), id).await?;
        let next = apply_settings(current.clone(), change)?;
        let saved = self.store.set_channel_settings(by.team(), id, &next).await?;
        let details = serde_json::json!({ "before": current, "after": saved });
        self.record(by, "channel.settings_changed", &id, details).await;
        Ok(saved)
    }

    /// The change is committed: a store that cannot take its entry is logged, not answered.
    async fn record(&self, by: &Actor, action: &'static str, id: &ChannelId, details: serde_json::Value) {
        crate::audit::record(&*self.audit, NewAuditEntry::by(by, action, "channel", Some(id.to_string()), details)).await
    }
}

/// A Twilio sid: its two-letter prefix and 32 letters or digits.
fn sid(value: &str, prefix: &str, field: &'static str) -> DomainResult<String> {
    let v = value.trim();
    let ok = v.len() == 34 && v.starts_with(prefix) && v[2..].chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(DomainError::invalid(field, format!("must be {prefix} followed by 32 letters or digits")));
    }
    Ok(v.to_owned())
}
