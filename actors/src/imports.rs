//! The imports service: a CSV file of contacts, checked row by row with the contacts rules
//! (`contacts::checked`, the team's default country and custom fields read once) and upserted
//! by (team, phone) in batches of 500, one statement each.
//!
//! A file of up to 10,000 data rows is imported while its request waits; a larger one runs as
//! a background job owned by the core's task tracker (so shutdown stops it between two batches),
//! at most `MAX_JOBS_PER_NODE` at once on a node. Either way the import is a `contact_imports`
//! row, so any node answers its progress; a running job stores its counts after every batch,
//! and pushes them to the importing user's private channel at most four times a second.
//! Canceling marks the row (from any node); the job sees it when it stores its next batch, and
//! a local job is also told at once. Rows already committed stay.
//!
//! A job whose node stops (killed, not shut down) would stay `running` for ever: a live job
//! stores its row every batch and, while it waits for a turn, every `HEARTBEAT`; `fail_stale`
//! (run every minute by the core, on every node) marks `failed` the rows not stored for
//! `STALE_AFTER` and tells their users, so the dialog ends and the import can be run again.
//!
//! Duplicate phones within one file: the first row with a phone wins; a later row with the
//! same (normalized) phone is not stored and is reported as an error row naming the first.

use crate::audit::{Actor, NewAuditEntry};
use crate::contacts::checked;
use crate::domain::{ContactField, ImportJob, ImportRowError, ImportState, OnConflict, Team, event};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{AuditWrites, ImportsStore, NewContact};
use crate::protocol::ChannelName;
use crate::rules::import::{self as rules, Target};
use dashmap::DashMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Background imports one node runs at once; more wait for a turn.
pub const MAX_JOBS_PER_NODE: usize = 2;
/// The least time between two progress events of one job.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How often a job waiting for a turn stores its row, to show it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A running import not stored for this long was left by a node that stopped.
pub const STALE_AFTER: Duration = Duration::from_secs(120);

/// An uploaded file on local disk, removed when dropped (after the import that reads it).
#[derive(Debug)]
pub struct ImportFile {
    path: PathBuf,
}

impl ImportFile {
    /// Takes ownership of the file at `path`.
    pub fn new(path: PathBuf) -> Self {
        ImportFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ImportFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An import as asked for.
#[derive(Debug)]
pub struct ImportRequest {
    pub file: ImportFile,
    /// Header → target (`name`, `phone`, `custom:KEY`, `ignore`, …); headers left out are guessed.
    pub mapping: Option<HashMap<String, String>>,
    pub on_conflict: OnConflict,
}

/// How an import went on.
#[derive(Debug)]
pub enum Started {
    /// A small file, imported: the summary and its error rows.
    Done(ImportJob, Vec<ImportRowError>),
    /// A large file: the job runs in the background.
    Running(ImportJob),
}

/// What the mapping step shows.
#[derive(Debug, serde::Serialize)]
pub struct Preview {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Header → guessed target.
    pub mapping: serde_json::Map<String, serde_json::Value>,
    /// Every target a column may have.
    pub fields: Vec<String>,
}

/// A team's contact imports on this node.
#[derive(Clone)]
pub struct Imports {
    store: Arc<dyn ImportsStore>,
    audit: Arc<dyn AuditWrites>,
    fanout: Arc<Fanout>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    slots: Arc<Semaphore>,
    running: Arc<DashMap<ImportId, CancellationToken>>,
}

/// Everything one import run needs.
struct Run {
    store: Arc<dyn ImportsStore>,
    audit: Arc<dyn AuditWrites>,
    fanout: Arc<Fanout>,
    by: Actor,
    team: Team,
    fields: Vec<ContactField>,
    targets: Vec<Target>,
    file: ImportFile,
    job: ImportJob,
    cancel: CancellationToken,
    /// Keep every error row in memory (a small import answers them).
    keep_errors: bool,
}

fn file_error(e: impl std::fmt::Display) -> DomainError {
    DomainError::invalid("file", format!("is not a readable CSV file ({e})"))
}

fn reader(path: &Path) -> DomainResult<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| DomainError::Internal(format!("import file: {e}")))?;
    Ok(csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(file))
}

/// The header row (a UTF-8 BOM dropped, cells trimmed).
fn headers<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> DomainResult<Vec<String>> {
    let h = rdr.headers().map_err(file_error)?;
    let headers: Vec<String> = h.iter().map(|c| c.trim_start_matches('\u{feff}').trim().to_owned()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(DomainError::invalid("file", "has no header row"));
    }
    Ok(headers)
}

/// The header row and how many data rows follow (a first pass over the spooled file).
fn count(path: &Path) -> DomainResult<(Vec<String>, u64)> {
    let mut rdr = reader(path)?;
    let headers = headers(&mut rdr)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => break,
            Err(e) if e.is_io_error() => return Err(file_error(e)),
            Err(_) => rows += 1,
        }
    }
    Ok((headers, rows))
}

/// The first rows of a file's beginning (`complete`: the whole file), for the mapping step.
pub fn preview(head: &[u8], complete: bool, fields: &[ContactField]) -> DomainResult<Preview> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(head);
    let headers = headers(&mut rdr)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for record in rdr.records().take(rules::PREVIEW_ROWS + 1) {
        match record {
            Ok(r) => rows.push(r.iter().map(str::to_owned).collect()),
            Err(_) => break,
        }
    }
    // A cut beginning may end inside a row: drop the last one unless more followed it.
    if !complete && rows.len() <= rules::PREVIEW_ROWS {
        rows.pop();
    }
    rows.truncate(rules::PREVIEW_ROWS);
    let mapping = headers.iter().map(|h| (h.clone(), serde_json::Value::String(rules::guess(h, fields).spelled()))).collect();
    Ok(Preview { headers, rows, mapping, fields: Target::all(fields) })
}

impl Imports {
    pub fn new(
        store: Arc<dyn ImportsStore>,
        audit: Arc<dyn AuditWrites>,
        fanout: Arc<Fanout>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        Imports { store, audit, fanout, tasks, shutdown, slots: Arc::new(Semaphore::new(MAX_JOBS_PER_NODE)), running: Arc::default() }
    }

    /// The mapping step's view of a file's beginning.
    pub async fn preview(&self, team: TeamId, head: &[u8], complete: bool) -> DomainResult<Preview> {
        preview(head, complete, &self.store.contact_fields(team).await?)
    }

    /// Imports a file into `team` as `by`: at once when it is small, else as a background job.
    pub async fn start(&self, by: &Actor, team: &Team, req: ImportRequest) -> DomainResult<Started> {
        let path = req.file.path().to_owned();
        let (headers, total) =
            tokio::task::spawn_blocking(move || count(&path)).await.map_err(|e| DomainError::Internal(e.to_string()))??;
        if total == 0 {
            return Err(DomainError::invalid("file", "has no data rows"));
        }
        let fields = self.store.contact_fields(team.id).await?;
        let targets = rules::mapping(&headers, req.mapping.as_ref(), &fields)?;
        let job = self.store.create_import(team.id, by.user.id, &headers, total as i64, req.on_conflict).await?;
        let cancel = self.shutdown.child_token();
        self.running.insert(job.job_id, cancel.clone());
        let small = total <= rules::SYNC_IMPORT_ROWS;
        let mut run = Run {
            store: self.store.clone(),
            audit: self.audit.clone(),
            fanout: self.fanout.clone(),
            by: by.clone(),
            team: team.clone(),
            fields,
            targets,
            file: req.file,
            job: job.clone(),
            cancel,
            keep_errors: small,
        };
        if small {
            let done = run.run().await;
            self.running.remove(&job.job_id);
            let (job, errors) = done?;
            return Ok(Started::Done(job, errors));
        }
        let (slots, running, id) = (self.slots.clone(), self.running.clone(), job.job_id);
        self.tasks.spawn(async move {
            // Wait for a turn (or for the end: a job that never started is canceled).
            let permit = run.turn(slots).await;
            match permit {
                Some(_permit) => {
                    let _ = run.run().await;
                }
                None => run.end(ImportState::Canceled).await,
            }
            running.remove(&id);
        });
        Ok(Started::Running(job))
    }

    /// Fails the imports whose node stopped (see the module's header); answers how many.
    pub async fn fail_stale(&self) -> DomainResult<usize> {
        let cutoff = crate::clock::now() - STALE_AFTER;
        let failed = self.store.fail_stale_imports(cutoff).await?;
        for job in &failed {
            tracing::warn!(job = %job.job_id, "an import's node stopped while it ran: marked failed");
            if let Some(user) = job.user_id {
                self.fanout.publish(ChannelName::User(user), event::IMPORT_PROGRESS, job);
            }
        }
        Ok(failed.len())
    }

    /// Cancels an import of the team (on whichever node it runs); a finished one is answered
    /// as it is.
    pub async fn cancel(&self, by: &Actor, id: ImportId) -> DomainResult<ImportJob> {
        let job = self.store.cancel_import(by.team(), id).await?;
        if let Some(token) = self.running.get(&id) {
            token.cancel();
        }
        Ok(job)
    }
}

impl Run {
    /// Waits for one of the node's import slots, storing the row every `HEARTBEAT` meanwhile;
    /// `None` when the import was canceled (here, on another node, or by shutdown) first.
    async fn turn(&mut self, slots: Arc<Semaphore>) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let acquire = slots.acquire_owned();
        tokio::pin!(acquire);
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            tokio::select! {
                p = &mut acquire => return p.ok(),
                _ = self.cancel.cancelled() => return None,
                _ = beat.tick() => match self.store.save_import(&self.job, &[], None).await {
                    Ok(stored) if stored.state == ImportState::Canceled => return None,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(job = %self.job.job_id, error = %e, "a waiting import could not store its heartbeat"),
                },
            }
        }
    }

    /// Imports every row, batch by batch; answers the final job and (for a small import) its
    /// error rows. The job's row is left `failed` when the store fails.
    async fn run(mut self) -> DomainResult<(ImportJob, Vec<ImportRowError>)> {
        match self.rows().await {
            Ok((state, errors)) => {
                self.end(state).await;
                Ok((self.job, errors))
            }
            Err(e) => {
                tracing::warn!(job = %self.job.job_id, error = %e, "import failed");
                self.end(ImportState::Failed).await;
                Err(e)
            }
        }
    }

    async fn rows(&mut self) -> DomainResult<(ImportState, Vec<ImportRowError>)> {
        let mut rdr = reader(self.file.path())?;
        headers(&mut rdr)?;
        let mut rdr = Some(rdr);
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut kept = 0usize;
        let mut answered = Vec::new();
        let mut last_event = Instant::now();
        let mut row = 0i64;
        loop {
            if self.cancel.is_cancelled() {
                return Ok((ImportState::Canceled, answered));
            }
            // The file is read off the runtime's threads, a batch at a time.
            let mut r = rdr.take().ok_or_else(|| DomainError::Internal("import reader lost".into()))?;
            let (r, chunk) = tokio::task::spawn_blocking(move || {
                let chunk: Vec<Result<Vec<String>, String>> = r
                    .records()
                    .take(rules::IMPORT_BATCH_ROWS)
                    .map(|rec| rec.map(|rec| rec.iter().map(str::to_owned).collect()).map_err(|e| e.to_string()))
                    .collect();
                (r, chunk)
            })
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?;
            rdr = Some(r);
            if chunk.is_empty() {
                return Ok((ImportState::Done, answered));
            }
            let mut batch: Vec<NewContact> = Vec::with_capacity(chunk.len());
            let mut errors = Vec::new();
            for cells in chunk {
                row += 1;
                let cells = match cells {
                    Ok(cells) => cells,
                    Err(e) => {
                        errors.push(ImportRowError { row, field: "row".into(), message: format!("cannot be read ({e})"), cells: vec![] });
                        continue;
                    }
                };
                let input = rules::row_input(&self.targets, &cells);
                match checked(&self.team, &self.fields, input) {
                    Ok(contact) => match seen.get(&contact.phone) {
                        Some(first) => errors.push(ImportRowError {
                            row,
                            field: "phone".into(),
                            message: format!("the same phone as row {first}: skipped (the first row with a phone wins)"),
                            cells,
                        }),
                        None => {
                            seen.insert(contact.phone.clone(), row);
                            batch.push(contact);
                        }
                    },
                    Err(DomainError::Invalid { field, message }) => {
                        errors.push(ImportRowError { row, field: field.into(), message, cells })
                    }
                    Err(e) => return Err(e),
                }
            }
            let done = if batch.is_empty() {
                Default::default()
            } else {
                self.store.upsert_contacts(self.team.id, &batch, self.job.on_conflict).await?
            };
            self.job.processed = row;
            self.job.created += done.created as i64;
            self.job.updated += done.updated as i64;
            self.job.skipped += (batch.len() as u64).saturating_sub(done.created + done.updated) as i64;
            self.job.errors_count += errors.len() as i64;
            let keep = errors.len().min(rules::MAX_KEPT_ERRORS.saturating_sub(kept));
            kept += keep;
            let stored = self.store.save_import(&self.job, &errors[..keep], None).await?;
            if self.keep_errors {
                answered.extend(errors.into_iter().take(keep));
            }
            if stored.state == ImportState::Canceled {
                self.job = stored;
                return Ok((ImportState::Canceled, answered));
            }
            if last_event.elapsed() >= PROGRESS_EVERY {
                self.progress();
                last_event = Instant::now();
            }
            // Other requests on this worker go first between two batches.
            tokio::task::yield_now().await;
        }
    }

    /// Stores the final state (best effort), tells the user, audits the import.
    async fn end(&mut self, state: ImportState) {
        match self.store.save_import(&self.job, &[], Some(state)).await {
            Ok(job) => self.job = job,
            Err(e) => {
                tracing::warn!(job = %self.job.job_id, error = %e, "could not store an import's end");
                self.job.state = state;
            }
        }
        self.progress();
        let j = &self.job;
        if j.created + j.updated > 0 {
            let data = serde_json::json!({ "job_id": j.job_id, "created": j.created, "updated": j.updated });
            self.fanout.publish(ChannelName::Team(self.team.id), event::CONTACTS_IMPORTED, &data);
        }
        let details = serde_json::json!({
            "state": j.state, "total": j.total, "processed": j.processed, "created": j.created, "updated": j.updated,
            "skipped": j.skipped, "errors": j.errors_count, "on_conflict": j.on_conflict,
        });
        let entry = NewAuditEntry::by(&self.by, "contacts.imported", "import", Some(j.job_id.to_string()), details);
        crate::audit::record(&*self.audit, entry).await;
    }

    fn progress(&self) {
        self.fanout.publish(ChannelName::User(self.by.user.id), event::IMPORT_PROGRESS, &self.job);
    }
}
