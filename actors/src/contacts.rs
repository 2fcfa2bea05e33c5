//! The contacts service: creating, changing and deleting a team's contacts, with the domain's
//! rules applied once. A change that shows in threads (name, phone, opt-out) is handed to each
//! of the contact's thread actors, which record it in the thread's log and refresh every inbox
//! and open thread view, on every node.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{Contact, Role};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::phone;
use crate::ports::{AuditWrites, ContactPatch, ContactStore};
use crate::rules;
use crate::threads::Threads;
use std::sync::Arc;

/// A contact as an agent enters it (raw: the rules check and normalize it).
#[derive(Clone, Debug, Default)]
pub struct ContactInput {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub tags: Vec<String>,
}

/// Changes to a contact as an agent enters them; `None` leaves a field as it is, and
/// `email: Some(None)` clears the email.
#[derive(Clone, Debug, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub opted_out: Option<bool>,
}

/// A team's contacts.
pub struct Contacts {
    store: Arc<dyn ContactStore>,
    threads: Arc<Threads>,
    audit: Arc<dyn AuditWrites>,
}

impl Contacts {
    /// The service over `store`, telling `threads` about changes and recording deletions in
    /// `audit`.
    pub fn new(store: Arc<dyn ContactStore>, threads: Arc<Threads>, audit: Arc<dyn AuditWrites>) -> Self {
        Contacts { store, threads, audit }
    }

    /// A new contact (Conflict when the phone is already one of the team's).
    pub async fn create(&self, team: TeamId, input: ContactInput) -> DomainResult<Contact> {
        let name = rules::contact_name(&input.name)?;
        let phone = phone::normalize(&input.phone, None)?;
        let email = rules::email(input.email.as_deref())?;
        let tags = rules::tags(input.tags)?;
        self.store.create_contact(team, &name, &phone, email.as_deref(), &tags).await
    }

    /// Changes a contact; its threads show the change live.
    pub async fn update(&self, team: TeamId, id: ContactId, change: ContactChange) -> DomainResult<Contact> {
        let patch = ContactPatch {
            name: change.name.as_deref().map(rules::contact_name).transpose()?,
            phone: change.phone.as_deref().map(|p| phone::normalize(p, None)).transpose()?,
            email: match change.email {
                None => None,
                Some(e) => Some(rules::email(e.as_deref())?),
            },
            tags: change.tags.map(rules::tags).transpose()?,
            opted_out: change.opted_out,
        };
        let contact = self.store.update_contact(team, id, patch).await?;
        let threads = self.store.contact_threads(team, id).await?;
        self.threads.contact_changed(&contact, threads).await;
        Ok(contact)
    }

    /// Deletes a contact with its threads and their history (admins only: it cannot be undone);
    /// every inbox and thread view drops them live.
    pub async fn delete(&self, by: &Actor, id: ContactId) -> DomainResult<()> {
        if by.user.role != Role::Admin {
            return Err(DomainError::Forbidden("only admins may delete a contact with its history"));
        }
        let team = by.team();
        let threads = self.store.delete_contact(team, id).await?;
        let entry = NewAuditEntry {
            team: Some(team),
            actor: Some(by.user.id),
            action: "contact.deleted",
            target_type: "contact",
            target_id: Some(id.to_string()),
            client: by.client.clone(),
            details: serde_json::json!({ "threads": threads.len() }),
        };
        self.threads.deleted(team, threads);
        if let Err(e) = self.audit.record_audit(entry).await {
            tracing::error!(error = %e, "could not write an audit entry");
        }
        Ok(())
    }
}
