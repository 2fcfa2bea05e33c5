//! `ListReads`/`ListWrites`, `ImportReads`/`ImportStore` in memory: lists by name per team (a
//! duplicate name in any case is a Conflict), static members, segments evaluated on read with
//! `SegmentFilter::matches` (the twin of the Postgres store's SQL), the import upsert with the
//! same conflict rules, and import rows.

use super::{MemoryStore, contains_ci, now, page};
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{BulkChange, ContactFilter, ImportReads, ImportStore, ListReads, ListWrites, NewContact, Page, Upserted};
use async_trait::async_trait;
use time::OffsetDateTime;

/// A list as stored (its count is worked out on read).
#[derive(Clone)]
pub(super) struct ListRow {
    pub list: ContactList,
}

impl super::State {
    fn in_list(&self, list: &ContactList, c: &Contact) -> bool {
        match &list.filter {
            None => self.list_members.contains(&(list.id, c.id)),
            Some(f) => f.matches(c),
        }
    }

    fn counted(&self, list: &ContactList) -> ContactList {
        let mut l = list.clone();
        l.member_count =
            self.contacts.values().filter(|c| c.team_id == l.team_id && c.deleted_at.is_none() && self.in_list(&l, c)).count() as i64;
        l
    }

    /// Whether a live contact is selected by a filter's search, tag and list.
    pub(super) fn selects(&self, filter: &ContactFilter, c: &Contact) -> bool {
        let q = filter.search.as_deref();
        q.is_none_or(|q| {
            contains_ci(&c.name, q)
                || c.phone.contains(q)
                || c.email.as_deref().is_some_and(|e| contains_ci(e, q))
                || c.company.as_deref().is_some_and(|e| contains_ci(e, q))
        }) && filter.tag.as_ref().is_none_or(|t| c.tags.contains(t))
            && filter.list_id.is_none_or(|l| self.lists.get(&l).is_some_and(|r| r.list.team_id == c.team_id && self.in_list(&r.list, c)))
    }
}

#[async_trait]
impl ListReads for MemoryStore {
    async fn lists(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<ContactList>> {
        self.enter("lists").await?;
        let s = self.state();
        let mut rows: Vec<ContactList> = s.lists.values().filter(|r| r.list.team_id == team).map(|r| s.counted(&r.list)).collect();
        rows.sort_by_key(|l| (l.name.to_lowercase(), l.id));
        if let Some(after) = cursor {
            let key = s
                .lists
                .get(&after.parse().map_err(|_| DomainError::invalid("cursor", "is not a cursor this server gave out"))?)
                .map(|r| (r.list.name.to_lowercase(), r.list.id));
            rows.retain(|l| key.as_ref().is_none_or(|k| (l.name.to_lowercase(), l.id) > *k));
        }
        Ok(page(rows, limit, |l| l.id.to_string()))
    }

    async fn list(&self, team: TeamId, id: ListId) -> DomainResult<ContactList> {
        self.enter("list").await?;
        let s = self.state();
        s.lists.get(&id).filter(|r| r.list.team_id == team).map(|r| s.counted(&r.list)).ok_or(DomainError::NotFound("list"))
    }

    async fn contact_lists(&self, team: TeamId, contact: ContactId) -> DomainResult<Vec<ContactList>> {
        self.enter("contact_lists").await?;
        let s = self.state();
        let c = s.contacts.get(&contact).filter(|c| c.team_id == team).ok_or(DomainError::NotFound("contact"))?;
        let mut lists: Vec<ContactList> =
            s.lists.values().filter(|r| r.list.team_id == team && s.in_list(&r.list, c)).map(|r| s.counted(&r.list)).collect();
        lists.sort_by_key(|l| l.name.to_lowercase());
        Ok(lists)
    }

    async fn contacts_after(&self, team: TeamId, filter: &ContactFilter, after: Option<&str>, limit: i64) -> DomainResult<Vec<Contact>> {
        self.enter("contacts_after").await?;
        let s = self.state();
        let mut rows: Vec<Contact> = s
            .contacts
            .values()
            .filter(|c| c.team_id == team && c.deleted_at.is_none() && after.is_none_or(|a| c.phone.as_str() > a) && s.selects(filter, c))
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.phone.cmp(&b.phone));
        rows.truncate(limit.max(0) as usize);
        Ok(rows)
    }
}

fn live_ids(s: &super::State, team: TeamId, ids: &[ContactId]) -> Vec<ContactId> {
    ids.iter().copied().filter(|id| s.contacts.get(id).is_some_and(|c| c.team_id == team && c.deleted_at.is_none())).collect()
}

#[async_trait]
impl ListWrites for MemoryStore {
    async fn create_list(
        &self,
        team: TeamId,
        by: Option<UserId>,
        name: &str,
        kind: ListKind,
        filter: Option<&SegmentFilter>,
    ) -> DomainResult<ContactList> {
        self.enter("create_list").await?;
        let mut s = self.state();
        if s.lists.values().any(|r| r.list.team_id == team && r.list.name.to_lowercase() == name.to_lowercase()) {
            return Err(DomainError::Conflict("a list with this name already exists".into()));
        }
        let at = now();
        let list = ContactList {
            id: ListId::new(),
            team_id: team,
            name: name.to_owned(),
            kind,
            filter: filter.cloned(),
            member_count: 0,
            created_by: by,
            created_at: at,
            updated_at: at,
        };
        let list = s.counted(&list);
        s.lists.insert(list.id, ListRow { list: list.clone() });
        Ok(list)
    }

    async fn update_list(&self, team: TeamId, id: ListId, name: Option<&str>, filter: Option<&SegmentFilter>) -> DomainResult<ContactList> {
        self.enter("update_list").await?;
        let mut s = self.state();
        if let Some(name) = name
            && s.lists.values().any(|r| r.list.team_id == team && r.list.id != id && r.list.name.to_lowercase() == name.to_lowercase())
        {
            return Err(DomainError::Conflict("a list with this name already exists".into()));
        }
        let row = s.lists.get_mut(&id).filter(|r| r.list.team_id == team).ok_or(DomainError::NotFound("list"))?;
        if let Some(name) = name {
            row.list.name = name.to_owned();
        }
        if let Some(f) = filter {
            row.list.filter = Some(f.clone());
        }
        row.list.updated_at = now();
        let list = row.list.clone();
        Ok(s.counted(&list))
    }

    async fn delete_list(&self, team: TeamId, id: ListId) -> DomainResult<()> {
        self.enter("delete_list").await?;
        let mut s = self.state();
        if s.lists.get(&id).is_none_or(|r| r.list.team_id != team) {
            return Err(DomainError::NotFound("list"));
        }
        s.lists.remove(&id);
        s.list_members.retain(|(l, _)| *l != id);
        Ok(())
    }

    async fn add_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64> {
        self.enter("add_list_members").await?;
        let mut s = self.state();
        if s.lists.get(&list).is_none_or(|r| r.list.team_id != team || r.list.kind != ListKind::Static) {
            return Err(DomainError::NotFound("list"));
        }
        let ids = live_ids(&s, team, ids);
        Ok(ids.into_iter().filter(|id| s.list_members.insert((list, *id))).count() as u64)
    }

    async fn add_list_members_matching(&self, team: TeamId, list: ListId, filter: &ContactFilter) -> DomainResult<u64> {
        self.enter("add_list_members_matching").await?;
        let mut s = self.state();
        if s.lists.get(&list).is_none_or(|r| r.list.team_id != team || r.list.kind != ListKind::Static) {
            return Err(DomainError::NotFound("list"));
        }
        let ids: Vec<ContactId> =
            s.contacts.values().filter(|c| c.team_id == team && c.deleted_at.is_none() && s.selects(filter, c)).map(|c| c.id).collect();
        Ok(ids.into_iter().filter(|id| s.list_members.insert((list, *id))).count() as u64)
    }

    async fn remove_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64> {
        self.enter("remove_list_members").await?;
        let mut s = self.state();
        if s.lists.get(&list).is_none_or(|r| r.list.team_id != team) {
            return Err(DomainError::NotFound("list"));
        }
        Ok(ids.iter().filter(|id| s.list_members.remove(&(list, **id))).count() as u64)
    }

    async fn bulk_change(&self, team: TeamId, ids: &[ContactId], change: &BulkChange) -> DomainResult<Vec<Contact>> {
        self.enter("bulk_change").await?;
        let mut s = self.state();
        let ids = live_ids(&s, team, ids);
        let mut changed = Vec::new();
        for id in ids {
            let Some(c) = s.contacts.get_mut(&id) else { continue };
            let did = match change {
                BulkChange::AddTag(t) if !c.tags.contains(t) => {
                    c.tags.push(t.clone());
                    true
                }
                BulkChange::RemoveTag(t) if c.tags.contains(t) => {
                    c.tags.retain(|x| x != t);
                    true
                }
                BulkChange::Delete => {
                    c.deleted_at = Some(now());
                    true
                }
                _ => false,
            };
            if did {
                changed.push(c.clone());
            }
        }
        Ok(changed)
    }
}

/// A field as the import's conflict rule leaves it.
fn merged(old: &mut Option<String>, new: &Option<String>, mode: OnConflict) {
    match (mode, new) {
        (OnConflict::Fill, Some(v)) if old.is_none() => *old = Some(v.clone()),
        (OnConflict::Overwrite, Some(v)) => *old = Some(v.clone()),
        _ => {}
    }
}

#[async_trait]
impl ImportStore for MemoryStore {
    async fn upsert_contacts(&self, team: TeamId, rows: &[NewContact], on_conflict: OnConflict) -> DomainResult<Upserted> {
        self.enter("upsert_contacts").await?;
        let mut done = Upserted::default();
        for n in rows {
            let existing = self.state().contacts.values().find(|c| c.team_id == team && c.phone == n.phone).cloned();
            let Some(mut c) = existing else {
                drop(crate::ports::ContactWrites::create_contact(self, team, n).await?);
                done.created += 1;
                continue;
            };
            let before = serde_json::to_value(&c).unwrap_or_default();
            if on_conflict != OnConflict::Skip {
                let name_is_phone = c.name.is_empty();
                if !n.name.is_empty() && (on_conflict == OnConflict::Overwrite || name_is_phone) {
                    c.name = n.name.clone();
                }
                merged(&mut c.first_name, &n.first_name, on_conflict);
                merged(&mut c.last_name, &n.last_name, on_conflict);
                merged(&mut c.email, &n.email, on_conflict);
                merged(&mut c.company, &n.company, on_conflict);
                merged(&mut c.notes, &n.notes, on_conflict);
                merged(&mut c.source, &n.source, on_conflict);
                if !n.tags.is_empty() && (on_conflict == OnConflict::Overwrite || c.tags.is_empty()) {
                    c.tags = n.tags.clone();
                }
                for (k, v) in &n.custom_fields {
                    if on_conflict == OnConflict::Overwrite || !c.custom_fields.contains_key(k) {
                        c.custom_fields.insert(k.clone(), v.clone());
                    }
                }
            }
            if n.opted_out && c.opted_out_at.is_none() {
                c.opted_out_at = Some(now());
                c.opt_out_reason = n.opt_out_reason.clone();
            }
            c.deleted_at = None;
            if serde_json::to_value(&c).unwrap_or_default() != before {
                self.state().contacts.insert(c.id, c);
                done.updated += 1;
            }
        }
        Ok(done)
    }

    async fn create_import(
        &self,
        team: TeamId,
        user: UserId,
        headers: &[String],
        total: i64,
        on_conflict: OnConflict,
    ) -> DomainResult<ImportJob> {
        self.enter("create_import").await?;
        let job = ImportJob {
            job_id: ImportId::new(),
            team_id: team,
            user_id: Some(user),
            state: ImportState::Running,
            on_conflict,
            total: Some(total),
            processed: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            errors_count: 0,
            headers: headers.to_vec(),
            created_at: now(),
            finished_at: None,
        };
        let mut s = self.state();
        s.imports.insert(job.job_id, (job.clone(), vec![]));
        s.imports_stored.insert(job.job_id, now());
        Ok(job)
    }

    async fn save_import(&self, job: &ImportJob, errors: &[ImportRowError], finish: Option<ImportState>) -> DomainResult<ImportJob> {
        self.enter("save_import").await?;
        let mut s = self.state();
        s.imports_stored.insert(job.job_id, now());
        let (stored, kept) = s.imports.get_mut(&job.job_id).ok_or(DomainError::NotFound("import"))?;
        let state = stored.state;
        *stored = ImportJob { state, headers: stored.headers.clone(), ..job.clone() };
        if let (ImportState::Running, Some(f)) = (state, finish) {
            stored.state = f;
        }
        if stored.state != ImportState::Running && stored.finished_at.is_none() {
            stored.finished_at = Some(now());
        }
        kept.extend(errors.iter().cloned());
        Ok(stored.clone())
    }

    async fn cancel_import(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob> {
        self.enter("cancel_import").await?;
        let mut s = self.state();
        let (job, _) = s.imports.get_mut(&id).filter(|(j, _)| j.team_id == team).ok_or(DomainError::NotFound("import"))?;
        if job.state == ImportState::Running {
            job.state = ImportState::Canceled;
            job.finished_at = Some(now());
        }
        Ok(job.clone())
    }

    async fn fail_stale_imports(&self, cutoff: OffsetDateTime) -> DomainResult<Vec<ImportJob>> {
        self.enter("fail_stale_imports").await?;
        let mut s = self.state();
        let stale: Vec<ImportId> = s.imports_stored.iter().filter(|(_, at)| **at < cutoff).map(|(id, _)| *id).collect();
        let mut failed = Vec::new();
        for id in stale {
            if let Some((job, _)) = s.imports.get_mut(&id).filter(|(j, _)| j.state == ImportState::Running) {
                job.state = ImportState::Failed;
                job.finished_at = Some(now());
                failed.push(job.clone());
            }
        }
        Ok(failed)
    }
}

#[async_trait]
impl ImportReads for MemoryStore {
    async fn import_job(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob> {
        self.enter("import_job").await?;
        self.state().imports.get(&id).filter(|(j, _)| j.team_id == team).map(|(j, _)| j.clone()).ok_or(DomainError::NotFound("import"))
    }

    async fn import_errors(&self, team: TeamId, id: ImportId) -> DomainResult<Vec<ImportRowError>> {
        self.enter("import_errors").await?;
        self.state().imports.get(&id).filter(|(j, _)| j.team_id == team).map(|(_, e)| e.clone()).ok_or(DomainError::NotFound("import"))
    }
}
