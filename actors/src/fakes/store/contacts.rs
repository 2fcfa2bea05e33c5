//! `ContactStore` in memory: one contact per E.164 phone per team (a duplicate is a Conflict, a
//! deleted contact's phone too), the Postgres store's orders with keyset pages (the cursor is
//! the last row's id here), soft delete, and purging a contact deletes its threads.

use super::{MemoryStore, contains_ci, e164, now, page, storable};
use crate::domain::{Contact, ContactField};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{ContactFilter, ContactPatch, ContactReads, ContactSort, ContactWrites, NewContact, Page};
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

/// The order of a sort, as the Postgres store's.
fn sort_key(sort: ContactSort, c: &Contact) -> (i128, String, uuid::Uuid) {
    match sort {
        ContactSort::Created => (-c.created_at.unix_timestamp_nanos(), String::new(), uuid::Uuid::from_u128(u128::MAX - c.id.0.as_u128())),
        ContactSort::Name => (0, c.name.to_lowercase(), c.id.0),
        ContactSort::Activity => (
            -c.last_activity_at.unwrap_or(time::OffsetDateTime::UNIX_EPOCH).unix_timestamp_nanos(),
            String::new(),
            uuid::Uuid::from_u128(u128::MAX - c.id.0.as_u128()),
        ),
    }
}

#[async_trait]
impl ContactReads for MemoryStore {
    async fn list_contacts(&self, team: TeamId, filter: &ContactFilter, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Contact>> {
        self.enter("list_contacts").await?;
        // The cursor is the last row's id: the page goes on after it in the sort's order.
        let after =
            cursor.map(|c| c.parse::<uuid::Uuid>().map_err(|_| DomainError::invalid("cursor", "is not a cursor this server gave out")));
        let after = after.transpose()?;
        let s = self.state();
        let q = filter.search.as_deref();
        let mut rows: Vec<Contact> = s
            .contacts
            .values()
            .filter(|c| c.team_id == team && c.deleted_at.is_some() == filter.deleted)
            .filter(|c| {
                q.is_none_or(|q| {
                    contains_ci(&c.name, q)
                        || c.phone.contains(q)
                        || c.email.as_deref().is_some_and(|e| contains_ci(e, q))
                        || c.company.as_deref().is_some_and(|e| contains_ci(e, q))
                })
            })
            .filter(|c| filter.tag.as_ref().is_none_or(|t| c.tags.contains(t)))
            .filter(|c| filter.list_id.is_none() || s.selects(filter, c))
            .cloned()
            .collect();
        rows.sort_by_key(|c| sort_key(filter.sort, c));
        if let Some(after) = after {
            let at = s.contacts.get(&ContactId(after)).map(|c| sort_key(filter.sort, c));
            rows.retain(|c| at.as_ref().is_none_or(|at| sort_key(filter.sort, c) > *at));
        }
        Ok(page(rows, limit, |c| c.id.0.to_string()))
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

    async fn contact_fields(&self, team: TeamId) -> DomainResult<Vec<ContactField>> {
        self.enter("contact_fields").await?;
        Ok(self.state().contact_fields.get(&team).cloned().unwrap_or_default())
    }
}

fn set_opt(target: &mut Option<String>, value: Option<Option<String>>) {
    if let Some(v) = value {
        *target = v;
    }
}

#[async_trait]
impl ContactWrites for MemoryStore {
    async fn create_contact(&self, team: TeamId, n: &NewContact) -> DomainResult<Contact> {
        self.enter("create_contact").await?;
        check(&n.name, &n.phone, n.email.as_deref(), &n.tags)?;
        let mut s = self.state();
        if !s.teams.contains_key(&team) {
            return Err(DomainError::invalid("request", "is not acceptable (contacts_team_id_fkey)"));
        }
        if s.contacts.values().any(|c| c.team_id == team && c.phone == n.phone) {
            return Err(DomainError::Conflict(DUPLICATE_PHONE.into()));
        }
        let mut contact = Contact::new(ContactId::new(), team, n.name.clone(), n.phone.clone(), now());
        contact.first_name = n.first_name.clone();
        contact.last_name = n.last_name.clone();
        contact.email = n.email.clone();
        contact.tags = n.tags.clone();
        contact.company = n.company.clone();
        contact.notes = n.notes.clone();
        contact.source = n.source.clone();
        contact.custom_fields = n.custom_fields.clone();
        if n.opted_out {
            contact.opted_out_at = Some(now());
            contact.opt_out_reason = n.opt_out_reason.clone();
        }
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
        set_opt(&mut c.first_name, p.first_name);
        set_opt(&mut c.last_name, p.last_name);
        set_opt(&mut c.company, p.company);
        set_opt(&mut c.notes, p.notes);
        set_opt(&mut c.source, p.source);
        set_opt(&mut c.opt_out_reason, p.opt_out_reason);
        if let Some(values) = p.custom_fields {
            c.custom_fields = values;
        }
        match p.opted_out {
            Some(true) => c.opted_out_at = c.opted_out_at.or(Some(now())),
            Some(false) => {
                c.opted_out_at = None;
                c.opt_out_reason = None;
            }
            None => {}
        }
        match p.deleted {
            Some(true) => c.deleted_at = c.deleted_at.or(Some(now())),
            Some(false) => c.deleted_at = None,
            None => {}
        }
        check(&c.name, &c.phone, c.email.as_deref(), &c.tags)?;
        if s.contacts.values().any(|o| o.team_id == team && o.id != id && o.phone == c.phone) {
            return Err(DomainError::Conflict(DUPLICATE_PHONE.into()));
        }
        s.contacts.insert(id, c.clone());
        Ok(c)
    }

    async fn purge_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>> {
        self.enter("purge_contact").await?;
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

    async fn set_contact_fields(&self, team: TeamId, fields: &[ContactField]) -> DomainResult<()> {
        self.enter("set_contact_fields").await?;
        let mut s = self.state();
        s.contact_fields.insert(team, fields.to_vec());
        for c in s.contacts.values_mut().filter(|c| c.team_id == team) {
            c.custom_fields.retain(|k, _| fields.iter().any(|f| &f.key == k));
        }
        Ok(())
    }

    async fn set_default_country(&self, team: TeamId, country: Option<&str>) -> DomainResult<()> {
        self.enter("set_default_country").await?;
        let mut s = self.state();
        match country {
            Some(c) => s.default_countries.insert(team, c.to_owned()),
            None => s.default_countries.remove(&team),
        };
        Ok(())
    }
}
