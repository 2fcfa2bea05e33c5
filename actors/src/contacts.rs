//! The contacts service: creating, changing and deleting a team's contacts, with the domain's
//! rules applied once. A change that shows in threads (name, phone, opt-out) is handed to each
//! of the contact's thread actors, which record it in the thread's log and refresh every inbox
//! and open thread view, on every node.

use crate::domain::Contact;
use crate::error::DomainResult;
use crate::ids::*;
use crate::phone;
use crate::ports::{ContactPatch, ContactStore};
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
}

impl Contacts {
    /// The service over `store`, telling `threads` about changes.
    pub fn new(store: Arc<dyn ContactStore>, threads: Arc<Threads>) -> Self {
        Contacts { store, threads }
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

    /// Deletes a contact with its threads; every inbox and thread view drops them live.
    pub async fn delete(&self, team: TeamId, id: ContactId) -> DomainResult<()> {
        let threads = self.store.delete_contact(team, id).await?;
        self.threads.deleted(team, threads);
        Ok(())
    }
}
