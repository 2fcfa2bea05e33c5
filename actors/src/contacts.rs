//! The contacts service: creating, changing and deleting a team's contacts, with the domain's
//! rules applied once. A change that shows in threads (name, phone, opt-out) is handed to each
//! of the contact's thread actors, which record it in the thread's log and refresh every inbox
//! and open thread view, on every node. Every create, change, delete, restore and purge is
//! also told to the team channel as `contact.changed` (`{action, id, contact}`), so every open
//! contacts page follows it live.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::event;
use crate::domain::{Contact, ContactField, Role, Team};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::phone;
use crate::ports::{AuditWrites, ContactPatch, ContactStore, NewContact};
use crate::protocol::ChannelName;
use crate::rules;
use crate::threads::Threads;
use std::sync::Arc;

/// A contact as an agent (or an import) enters it: raw, the rules check and normalize it.
#[derive(Clone, Debug, Default)]
pub struct ContactInput {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: String,
    pub email: Option<String>,
    pub tags: Vec<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    pub opted_out: bool,
    pub opt_out_reason: Option<String>,
}

/// Changes to a contact as an agent enters them; `None` leaves a field as it is, and
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub phone: Option<String>,
    pub email: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub company: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub opted_out: Option<bool>,
    pub opt_out_reason: Option<Option<String>>,
}

/// A team's contacts.
pub struct Contacts {
    store: Arc<dyn ContactStore>,
    threads: Arc<Threads>,
    audit: Arc<dyn AuditWrites>,
    fanout: Arc<Fanout>,
}

/// The phone library's region for a team's default country.
fn region(team: &Team) -> Option<phonenumber::country::Id> {
    team.default_country.as_deref().and_then(|c| c.parse().ok())
}

/// [`Contacts::checked`] with the team's custom fields at hand (an import checks every row
/// against the fields it read once).
pub fn checked(team: &Team, fields: &[ContactField], input: ContactInput) -> DomainResult<NewContact> {
    let first_name = rules::contact_text("first_name", input.first_name.as_deref(), rules::MAX_NAME_PART_CHARS)?;
    let last_name = rules::contact_text("last_name", input.last_name.as_deref(), rules::MAX_NAME_PART_CHARS)?;
    let name = rules::contact_name(&rules::display_name(&input.name, first_name.as_deref(), last_name.as_deref()))?;
    let custom_fields =
        if input.custom_fields.is_empty() { input.custom_fields } else { rules::custom_values(input.custom_fields, fields)? };
    Ok(NewContact {
        name,
        first_name,
        last_name,
        phone: phone::normalize(&input.phone, region(team))?,
        email: rules::email(input.email.as_deref())?,
        tags: rules::tags(input.tags)?,
        company: rules::contact_text("company", input.company.as_deref(), rules::MAX_NAME_CHARS)?,
        notes: rules::contact_text("notes", input.notes.as_deref(), rules::MAX_CONTACT_NOTES_CHARS)?,
        source: rules::contact_text("source", input.source.as_deref(), rules::MAX_NAME_PART_CHARS)?,
        custom_fields,
        opted_out: input.opted_out,
        opt_out_reason: rules::contact_text("opt_out_reason", input.opt_out_reason.as_deref(), rules::MAX_NAME_CHARS)?,
    })
}

fn optional(field: &'static str, value: Option<Option<String>>, max: usize) -> DomainResult<Option<Option<String>>> {
    value.map(|v| rules::contact_text(field, v.as_deref(), max)).transpose()
}

impl Contacts {
    /// The service over `store`, telling `threads` about changes, recording deletions in
    /// `audit` and announcing every change on the team channel through `fanout`.
    pub fn new(store: Arc<dyn ContactStore>, threads: Arc<Threads>, audit: Arc<dyn AuditWrites>, fanout: Arc<Fanout>) -> Self {
        Contacts { store, threads, audit, fanout }
    }

    /// Tells the team's open pages (every node) that a contact changed: `action` is `created`,
    /// `updated`, `deleted`, `restored` or `purged`; `contact` is the contact as it is now
    /// (`null` once purged).
    fn announce(&self, team: TeamId, action: &'static str, id: ContactId, contact: Option<&Contact>) {
        let data = serde_json::json!({ "action": action, "id": id, "contact": contact });
        self.fanout.publish(ChannelName::Team(team), event::CONTACT_CHANGED, &data);
    }

    /// Checks and normalizes a contact as entered: local numbers are read in the team's
    /// default country; custom fields must be the team's.
    pub async fn checked(&self, team: &Team, input: ContactInput) -> DomainResult<NewContact> {
        let fields = if input.custom_fields.is_empty() { vec![] } else { self.store.contact_fields(team.id).await? };
        checked(team, &fields, input)
    }

    /// A new contact (Conflict when the phone is already one of the team's).
    pub async fn create(&self, team: &Team, input: ContactInput) -> DomainResult<Contact> {
        let contact = self.checked(team, input).await?;
        let contact = self.store.create_contact(team.id, &contact).await?;
        self.announce(team.id, "created", contact.id, Some(&contact));
        Ok(contact)
    }

    /// Changes a contact; its threads show the change live.
    pub async fn update(&self, team: &Team, id: ContactId, change: ContactChange) -> DomainResult<Contact> {
        let custom_fields = match change.custom_fields {
            Some(values) => Some(rules::custom_values(values, &self.store.contact_fields(team.id).await?)?),
            None => None,
        };
        let mut patch = ContactPatch {
            first_name: optional("first_name", change.first_name, rules::MAX_NAME_PART_CHARS)?,
            last_name: optional("last_name", change.last_name, rules::MAX_NAME_PART_CHARS)?,
            phone: change.phone.as_deref().map(|p| phone::normalize(p, region(team))).transpose()?,
            email: match change.email {
                None => None,
                Some(e) => Some(rules::email(e.as_deref())?),
            },
            tags: change.tags.map(rules::tags).transpose()?,
            company: optional("company", change.company, rules::MAX_NAME_CHARS)?,
            notes: optional("notes", change.notes, rules::MAX_CONTACT_NOTES_CHARS)?,
            source: optional("source", change.source, rules::MAX_NAME_PART_CHARS)?,
            custom_fields,
            opted_out: change.opted_out,
            opt_out_reason: optional("opt_out_reason", change.opt_out_reason, rules::MAX_NAME_CHARS)?,
            ..ContactPatch::default()
        };
        // The shown name follows the parts when it is not given and a part changes.
        patch.name = match change.name {
            Some(name) => Some(rules::contact_name(&name)?),
            None if patch.first_name.is_some() || patch.last_name.is_some() => {
                let now = self.store.contact(team.id, id).await?;
                let first = patch.first_name.clone().unwrap_or(now.first_name);
                let last = patch.last_name.clone().unwrap_or(now.last_name);
                let derived = rules::display_name("", first.as_deref(), last.as_deref());
                (!derived.is_empty()).then_some(derived)
            }
            None => None,
        };
        self.apply(team.id, id, patch).await
    }

    async fn apply(&self, team: TeamId, id: ContactId, patch: ContactPatch) -> DomainResult<Contact> {
        let contact = self.store.update_contact(team, id, patch).await?;
        self.announce(team, "updated", id, Some(&contact));
        let threads = self.store.contact_threads(team, id).await?;
        self.threads.contact_changed(&contact, threads).await;
        Ok(contact)
    }

    /// Deletes a contact softly: hidden from the contacts list and search, its threads and
    /// messages still readable; any member may (audited). A new message from the number, or a
    /// restore, brings it back.
    pub async fn delete(&self, by: &Actor, id: ContactId) -> DomainResult<()> {
        let patch = ContactPatch { deleted: Some(true), ..ContactPatch::default() };
        let contact = self.store.update_contact(by.team(), id, patch).await?;
        self.announce(by.team(), "deleted", id, Some(&contact));
        self.audited(by, "contact.deleted", id, serde_json::json!({})).await;
        Ok(())
    }

    /// Brings a deleted contact back.
    pub async fn restore(&self, by: &Actor, id: ContactId) -> DomainResult<Contact> {
        let patch = ContactPatch { deleted: Some(false), ..ContactPatch::default() };
        let contact = self.store.update_contact(by.team(), id, patch).await?;
        self.announce(by.team(), "restored", id, Some(&contact));
        self.audited(by, "contact.restored", id, serde_json::json!({})).await;
        Ok(contact)
    }

    /// Deletes a contact for good with its threads and their history (admins only, for
    /// privacy requests: it cannot be undone); every inbox and thread view drops them live.
    pub async fn purge(&self, by: &Actor, id: ContactId) -> DomainResult<()> {
        if by.user.role != Role::Admin {
            return Err(DomainError::Forbidden("only admins may purge a contact with its history"));
        }
        let team = by.team();
        let threads = self.store.purge_contact(team, id).await?;
        self.announce(team, "purged", id, None);
        self.threads.deleted(team, threads.clone());
        self.audited(by, "contact.purged", id, serde_json::json!({ "threads": threads.len() })).await;
        Ok(())
    }

    /// The team's custom contact fields.
    pub async fn fields(&self, team: TeamId) -> DomainResult<Vec<ContactField>> {
        self.store.contact_fields(team).await
    }

    /// Replaces the team's custom contact fields (admins; audited). Values of dropped keys go.
    pub async fn set_fields(&self, by: &Actor, fields: Vec<ContactField>) -> DomainResult<Vec<ContactField>> {
        by.require_admin("only admins may change the team's contact settings")?;
        let fields = rules::contact_fields(fields)?;
        self.store.set_contact_fields(by.team(), &fields).await?;
        let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
        self.record(by, "team.contact_fields_changed", "team", Some(by.team().to_string()), serde_json::json!({ "keys": keys })).await;
        Ok(fields)
    }

    /// Sets (or clears) the country local numbers are read in (admins; audited).
    pub async fn set_default_country(&self, by: &Actor, country: Option<&str>) -> DomainResult<Option<String>> {
        by.require_admin("only admins may change the team's contact settings")?;
        let country = country.map(str::trim).filter(|c| !c.is_empty()).map(rules::country).transpose()?;
        self.store.set_default_country(by.team(), country.as_deref()).await?;
        let details = serde_json::json!({ "default_country": country });
        self.record(by, "team.settings_changed", "team", Some(by.team().to_string()), details).await;
        Ok(country)
    }

    async fn audited(&self, by: &Actor, action: &'static str, id: ContactId, details: serde_json::Value) {
        self.record(by, action, "contact", Some(id.to_string()), details).await
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
