//! Ports of contacts: the team's contacts, their lists and segments, and CSV imports.

use super::*;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;

/// A new contact, checked and normalized (by the contacts service).
#[derive(Clone, Debug, Default)]
pub struct NewContact {
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

impl NewContact {
    /// A contact with a name and a phone only.
    pub fn basic(name: &str, phone: &str) -> NewContact {
        NewContact { name: name.to_owned(), phone: phone.to_owned(), ..NewContact::default() }
    }
}

/// Changes to a contact; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub phone: Option<String>,
    pub email: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub company: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub source: Option<Option<String>>,
    /// Replaces every custom field value.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Opting out keeps the first time (and sets the reason when given); opting back in
    /// clears both.
    pub opted_out: Option<bool>,
    pub opt_out_reason: Option<Option<String>>,
    /// Soft delete (true) or restore (false).
    pub deleted: Option<bool>,
}

/// How the contacts page orders contacts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSort {
    /// Newest first.
    #[default]
    Created,
    /// By name, A to Z.
    Name,
    /// Most recent message first; never-messaged contacts last.
    Activity,
}

/// Which contacts a listing shows.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// In the name, phone, email or company.
    pub search: Option<String>,
    /// Carrying this tag.
    pub tag: Option<String>,
    pub sort: ContactSort,
    /// The deleted contacts instead of the live ones.
    pub deleted: bool,
    /// In this list (static members, or a segment's filter as it reads now).
    pub list_id: Option<ListId>,
}

/// Reads of a team's contacts.
#[async_trait]
pub trait ContactReads: Send + Sync {
    /// A page of the contacts `filter` selects, in its order (keyset cursor).
    async fn list_contacts(&self, team: TeamId, filter: &ContactFilter, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Contact>>;
    /// One contact of the team (a deleted one too).
    async fn contact(&self, team: TeamId, id: ContactId) -> DomainResult<Contact>;
    /// The threads of a contact.
    async fn contact_threads(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>>;
    /// The team's custom contact fields, by key.
    async fn contact_fields(&self, team: TeamId) -> DomainResult<Vec<crate::domain::ContactField>>;
}

/// Writes to a team's contacts (the contacts service is their one caller).
#[async_trait]
pub trait ContactWrites: Send + Sync {
    /// A new contact; Conflict when the phone is already a contact of this team (a deleted one
    /// too: restore it instead).
    async fn create_contact(&self, team: TeamId, contact: &NewContact) -> DomainResult<Contact>;
    /// Applies a patch; Conflict on a duplicate phone.
    async fn update_contact(&self, team: TeamId, id: ContactId, patch: ContactPatch) -> DomainResult<Contact>;
    /// Deletes a contact for good with its threads; answers the threads that were deleted.
    async fn purge_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>>;
    /// Replaces the team's custom contact fields; values of dropped keys are removed from
    /// every contact.
    async fn set_contact_fields(&self, team: TeamId, fields: &[crate::domain::ContactField]) -> DomainResult<()>;
    /// Sets (or clears) the country local numbers are read in.
    async fn set_default_country(&self, team: TeamId, country: Option<&str>) -> DomainResult<()>;
}

/// Reads of a team's contact lists (static lists and segments).
#[async_trait]
pub trait ListReads: Send + Sync {
    /// A page of the team's lists by name (keyset), with their member counts.
    async fn lists(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<ContactList>>;
    /// One list of the team.
    async fn list(&self, team: TeamId, id: ListId) -> DomainResult<ContactList>;
    /// The lists a contact is in now (static membership or a segment's filter).
    async fn contact_lists(&self, team: TeamId, contact: ContactId) -> DomainResult<Vec<ContactList>>;
    /// Up to `limit` live contacts `filter` selects (a list of either kind with `list_id`), in
    /// phone order after the phone `after`: exports and campaign audiences walk a team's
    /// contacts with it in constant memory.
    async fn contacts_after(&self, team: TeamId, filter: &ContactFilter, after: Option<&str>, limit: i64) -> DomainResult<Vec<Contact>>;
}

/// A bulk change to contacts picked by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkChange {
    AddTag(String),
    RemoveTag(String),
    AddToList(ListId),
    /// Soft delete.
    Delete,
}

/// Writes to a team's lists and bulk changes to its contacts (the lists service is their one
/// caller). Every method is one set-based statement; counts are of rows changed.
#[async_trait]
pub trait ListWrites: Send + Sync {
    /// A new list; Conflict when the team has one of that name (any case).
    async fn create_list(
        &self,
        team: TeamId,
        by: Option<UserId>,
        name: &str,
        kind: ListKind,
        filter: Option<&SegmentFilter>,
    ) -> DomainResult<ContactList>;
    /// Renames a list and/or replaces a segment's filter.
    async fn update_list(&self, team: TeamId, id: ListId, name: Option<&str>, filter: Option<&SegmentFilter>) -> DomainResult<ContactList>;
    async fn delete_list(&self, team: TeamId, id: ListId) -> DomainResult<()>;
    /// Adds the team's live contacts among `ids` to a static list (already members count not).
    async fn add_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64>;
    /// Adds every live contact `filter` (search, tag) selects to a static list, in one statement.
    async fn add_list_members_matching(&self, team: TeamId, list: ListId, filter: &ContactFilter) -> DomainResult<u64>;
    async fn remove_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64>;
    /// Applies a tag change or the soft delete to the team's live contacts among `ids`;
    /// answers the contacts it changed, as they are now (adding to a list is
    /// `add_list_members`).
    async fn bulk_change(&self, team: TeamId, ids: &[ContactId], change: &BulkChange) -> DomainResult<Vec<Contact>>;
}

/// What one batch of an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u64,
    /// Existing contacts that changed (a restored or newly opted-out one too).
    pub updated: u64,
}

/// Reads of contact imports (any node answers an import's progress).
#[async_trait]
pub trait ImportReads: Send + Sync {
    async fn import_job(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob>;
    /// The stored error rows of an import, in row order.
    async fn import_errors(&self, team: TeamId, id: ImportId) -> DomainResult<Vec<ImportRowError>>;
}

/// Contact imports: the batches' upserts and the jobs' rows.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Inserts or updates a batch by (team, phone) in one statement (phones unique within the
    /// batch). An existing opt-out is never cleared; a deleted contact is restored.
    async fn upsert_contacts(&self, team: TeamId, rows: &[NewContact], on_conflict: OnConflict) -> DomainResult<Upserted>;
    /// A new running import.
    async fn create_import(
        &self,
        team: TeamId,
        user: UserId,
        headers: &[String],
        total: i64,
        on_conflict: OnConflict,
    ) -> DomainResult<ImportJob>;
    /// Stores an import's counts (and new error rows, the first 10,000 kept) while it runs, or
    /// with `finish` its final state; answers the job as stored: `canceled` when someone
    /// canceled it meanwhile (on any node), and then nothing but the errors is changed.
    async fn save_import(&self, job: &ImportJob, errors: &[ImportRowError], finish: Option<ImportState>) -> DomainResult<ImportJob>;
    /// Cancels a running import (a finished one is left as it is); answers it.
    async fn cancel_import(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob>;
    /// Marks `failed` every import still `running` but not stored since `cutoff`: its node
    /// stopped (a live job stores every batch, and while it waits for a turn, every heartbeat).
    /// Answers them.
    async fn fail_stale_imports(&self, cutoff: time::OffsetDateTime) -> DomainResult<Vec<ImportJob>>;
}
