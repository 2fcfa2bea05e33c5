//! Group commit: writes that arrive together share one statement and one commit. Each caller
//! hands its job in and waits; whoever finds a batch slot free takes every job waiting (up to
//! `max`, one per key) and runs them as one batch, then answers each caller with its own
//! result, only after the batch committed. No task of its own: the batch runs in the future of
//! the caller that took it, so nothing is left to drain at shutdown. Under light load a job is
//! a batch of one, run at once; under heavy load the batches grow by themselves, because jobs
//! gather while the slots are busy.
//!
//! A batch that fails is run again one job at a time, so one bad job (a row deleted meanwhile,
//! a deadlock with another node) fails only itself.

use crate::store::StoreError;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, oneshot};

type Waiting<J, R> = VecDeque<(J, oneshot::Sender<Result<R, StoreError>>)>;

pub(crate) struct GroupCommit<J, R> {
    waiting: Mutex<Waiting<J, R>>,
    slots: Semaphore,
    max: usize,
}

/// Batches at once and jobs per batch of the store's group commits (inbound messages, status
/// callbacks, the scheduler's sends): four slots measured as well as two and better than eight
/// (benchmarks §15).
impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        GroupCommit::new(4, 64)
    }
}

impl<J, R> GroupCommit<J, R> {
    /// At most `slots` batches at once, each of at most `max` jobs.
    pub(crate) fn new(slots: usize, max: usize) -> Self {
        GroupCommit { waiting: Mutex::default(), slots: Semaphore::new(slots.max(1)), max: max.max(1) }
    }

    /// Runs `job` in a batch with whatever else is waiting. `run` writes a batch (jobs with
    /// distinct keys) and answers one result per job, in order; `key` tells which jobs must not
    /// share a batch (a set-based statement can change a row once).
    pub(crate) async fn submit<K, Run, Fut>(&self, job: J, key: impl Fn(&J) -> K, run: Run) -> Result<R, StoreError>
    where
        K: Eq + Hash,
        Run: Fn(Arc<[J]>) -> Fut,
        Fut: Future<Output = Result<Vec<R>, StoreError>>,
        J: Clone,
    {
        let (tx, mut rx) = oneshot::channel();
        self.lock().push_back((job, tx));
        loop {
            tokio::select! {
                biased;
                done = &mut rx => return done.unwrap_or_else(|_| Err(abandoned())),
                permit = self.slots.acquire() => {
                    let slot = permit.map_err(|_| abandoned())?;
                    let batch = self.take(&key);
                    if batch.is_empty() {
                        // Ours is in a batch another caller runs.
                        drop(slot);
                        return rx.await.unwrap_or_else(|_| Err(abandoned()));
                    }
                    metrics::histogram!("switchboard_group_commit_jobs").record(batch.len() as f64);
                    let (jobs, replies): (Vec<J>, Vec<_>) = batch.into_iter().unzip();
                    let jobs: Arc<[J]> = jobs.into();
                    let results = run_batch(jobs, &run).await;
                    drop(slot);
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
            }
        }
    }

    /// The jobs waiting longest, one per key.
    fn take<K: Eq + Hash>(&self, key: impl Fn(&J) -> K) -> Waiting<J, R> {
        let mut waiting = self.lock();
        let mut keys = HashSet::new();
        let mut batch = VecDeque::new();
        let mut later = VecDeque::new();
        while let Some(item) = waiting.pop_front() {
            if batch.len() < self.max && keys.insert(key(&item.0)) {
                batch.push_back(item);
            } else {
                later.push_back(item);
            }
        }
        *waiting = later;
        batch
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting<J, R>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").field("waiting", &self.lock().len()).field("free_slots", &self.slots.available_permits()).finish()
    }
}

/// The batch, or, when it fails as a whole, each job alone (only then is a job copied).
async fn run_batch<J: Clone, R, Run, Fut>(jobs: Arc<[J]>, run: &Run) -> Vec<Result<R, StoreError>>
where
    Run: Fn(Arc<[J]>) -> Fut,
    Fut: Future<Output = Result<Vec<R>, StoreError>>,
{
    let n = jobs.len();
    let single = n == 1;
    match run(Arc::clone(&jobs)).await {
        Ok(results) if results.len() == n => results.into_iter().map(Ok).collect(),
        Ok(_) => (0..n).map(|_| Err(StoreError::internal("a batch answered the wrong number of results"))).collect(),
        Err(e) if single => vec![Err(e)],
        Err(e) => {
            tracing::warn!(jobs = n, error = %e, "a group commit failed; its jobs run one by one");
            let mut out = Vec::with_capacity(n);
            for job in jobs.iter() {
                out.push(
                    run(Arc::from([job.clone()]))
                        .await
                        .and_then(|mut r| r.pop().ok_or_else(|| StoreError::internal("an empty batch answer"))),
                );
            }
            out
        }
    }
}

/// The caller that took our job went away before answering (its future was dropped): the
/// write may or may not have committed, so the caller's client should retry (idempotent).
fn abandoned() -> StoreError {
    StoreError::Unavailable("the batch that held this write was abandoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn jobs_that_wait_together_share_a_batch_one_per_key_and_each_gets_its_own_answer() {
        let group = Arc::new(GroupCommit::<(u32, u32), u32>::new(1, 64));
        let batches = Arc::new(Mutex::new(Vec::<Vec<(u32, u32)>>::new()));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let mut callers = Vec::new();
        for (key, value) in [(1, 10), (2, 20), (2, 21), (3, 30)] {
            let (group, batches, gate) = (group.clone(), batches.clone(), gate.clone());
            callers.push(tokio::spawn(async move {
                let run = |jobs: Arc<[(u32, u32)]>| {
                    let (batches, gate) = (batches.clone(), gate.clone());
                    async move {
                        // The first batch holds its slot until the others are waiting.
                        gate.acquire().await.unwrap().forget();
                        batches.lock().unwrap().push(jobs.to_vec());
                        Ok(jobs.iter().map(|(_, v)| v * 2).collect())
                    }
                };
                group.submit((key, value), |j| j.0, run).await
            }));
            tokio::task::yield_now().await;
        }
        gate.add_permits(10);
        let answers: Vec<u32> = futures_util::future::join_all(callers).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
        assert_eq!(answers, [20, 40, 42, 60]);
        let batches = batches.lock().unwrap().clone();
        assert_eq!(batches[0], [(1, 10)], "the first runs alone, at once");
        assert_eq!(batches[1], [(2, 20), (3, 30)], "those that waited share one, one per key");
        assert_eq!(batches[2], [(2, 21)]);
    }

    #[tokio::test]
    async fn a_failed_batch_runs_again_job_by_job_so_only_the_bad_one_fails() {
        let group = GroupCommit::<u32, u32>::new(1, 64);
        let calls = AtomicUsize::new(0);
        let run = |jobs: Arc<[u32]>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if jobs.contains(&13) {
                    return Err(StoreError::NotFound("thread"));
                }
                Ok(jobs.to_vec())
            }
        };
        let results = run_batch(Arc::from([1, 13, 2]), &run).await;
        assert!(matches!(results[..], [Ok(1), Err(StoreError::NotFound("thread")), Ok(2)]), "{results:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(group.submit(5, |j| *j, run).await.unwrap(), 5);
    }
}
