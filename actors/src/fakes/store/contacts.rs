//! `ContactStore` in memory: one contact per E.164 phone per team (a duplicate is a Conflict),
//! newest first with keyset pages, and deleting a contact deletes its threads.

use super::{MemoryStore, contains_ci, decode_cursor, e164, encode_cursor, now, page, storable};
use crate::domain::Contact;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{ContactPatch, ContactReads, ContactWrites, Page};
use async_trait::async_trait;

const DUPLICATE_PHONE: &str = "a contact with this phone number already exists";

fn check(name: &str, phone: &str, email: Option<&str>, tags: &[String]) -> DomainResult<()> {
    storable("name", name)?;
    if name.chars().count() > 200 {
        return Err(DomainError::invalid("name", "is not acceptable (contacts_name_check)"));
    }
    e164("phone", phone)?;
    if let Some(email) = email {
        storable("email", email)?;
    }
    for tag in tags {
        storable("tags", tag)?;
    }
    Ok(())
}

#[async_trait]
impl ContactReads for MemoryStore {
    async fn list_contacts(&self, team: TeamId, search: Option<&str>, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Contact>> {
        self.enter("list_contacts").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<Contact> = s
            .contacts
            .values()
            .filter(|c| c.team_id == team)
            .filter(|c| {
                search
                    .is_none_or(|q| contains_ci(&c.name, q) || c.phone.contains(q) || c.email.as_deref().is_some_and(|e| contains_ci(e, q)))
            })
            .filter(|c| after.is_none_or(|(a, id)| (c.created_at, c.id.0) < (a, id)))
            .cloned()
            .collect();
        rows.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        Ok(page(rows, limit, |c| encode_cursor(c.created_at, c.id.0)))
    }

    async fn contact(&self, team: TeamId, id: ContactId) -> DomainResult<Contact> {
        self.enter("contact").await?;
        self.state().contacts.get(&id).filter(|c| c.team_id == team).cloned().ok_or(DomainError::NotFound("contact"))
    }

    async fn contact_threads(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
        self.enter("contact_threads").await?;
        let s = self.state();
        Ok(s.threads.values().filter(|t| t.team == team && t.contact == id).map(|t| t.id).collect())
    }
}

#[async_trait]
impl ContactWrites for MemoryStore {
    async fn create_contact(&self, team: TeamId, name: &str, phone: &str, email: Option<&str>, tags: &[String]) -> DomainResult<Contact> {
        self.enter("create_contact").await?;
        check(name, phone, email, tags)?;
        let mut s = self.state();
        if !s.teams.contains_key(&team) {
            return Err(DomainError::invalid("request", "is not acceptable (contacts_team_id_fkey)"));
        }
        if s.contacts.values().any(|c| c.team_id == team && c.phone == phone) {
            return Err(DomainError::Conflict(DUPLICATE_PHONE.into()));
        }
        let contact = Contact {
            id: ContactId::new(),
            team_id: team,
            name: name.to_owned(),
            phone: phone.to_owned(),
            email: email.map(str::to_owned),
            tags: tags.to_vec(),
            opted_out_at: None,
            created_at: now(),
        };
        s.contacts.insert(contact.id, contact.clone());
        Ok(contact)
    }

    async fn update_contact(&self, team: TeamId, id: ContactId, p: ContactPatch) -> DomainResult<Contact> {
        self.enter("update_contact").await?;
        let mut s = self.state();
        let mut c = s.contacts.get(&id).filter(|c| c.team_id == team).cloned().ok_or(DomainError::NotFound("contact"))?;
        if let Some(name) = p.name {
            c.name = name;
        }
        if let Some(phone) = p.phone {
            c.phone = phone;
        }
        if let Some(email) = p.email {
            c.email = email;
        }
        if let Some(tags) = p.tags {
            c.tags = tags;
        }
        match p.opted_out {
            Some(true) => c.opted_out_at = c.opted_out_at.or(Some(now())),
            Some(false) => c.opted_out_at = None,
            None => {}
        }
        check(&c.name, &c.phone, c.email.as_deref(), &c.tags)?;
        if s.contacts.values().any(|o| o.team_id == team && o.id != id && o.phone == c.phone) {
            return Err(DomainError::Conflict(DUPLICATE_PHONE.into()));
        }
        s.contacts.insert(id, c.clone());
        Ok(c)
    }

    async fn delete_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
        self.enter("delete_contact").await?;
        let mut s = self.state();
        if s.contacts.get(&id).is_none_or(|c| c.team_id != team) {
            return Err(DomainError::NotFound("contact"));
        }
        s.contacts.remove(&id);
        // Its threads go with it (ON DELETE CASCADE).
        let threads: Vec<ThreadId> = s.threads.values().filter(|t| t.team == team && t.contact == id).map(|t| t.id).collect();
        s.delete_threads(&threads);
        Ok(threads)
    }
}
