//! The registry of one kind of live actor (thread actors, team actors), keyed by id.
//!
//! Starting an actor is single-flight per key: the first caller for a key starts it, the others
//! for that key wait for the same start, and callers for other keys never wait at all. There is
//! no global lock, and no lock is held across the start (which may load state from Postgres):
//! after a deploy, a reconnect storm touching thousands of threads starts them all in parallel.
//!
//! Each live actor comes with a counter of the commands queued for it: callers that would push
//! it past `max_queued` are refused with `DomainError::Busy` instead of growing the mailbox.

use crate::error::{DomainError, DomainResult};
use dashmap::DashMap;
use futures_util::future::BoxFuture;
use ractor::{ActorId, ActorRef, MessagingErr, RpcReplyPort};
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::OnceCell;

/// A live actor and its count of queued commands.
pub struct Live<M: Send + 'static> {
    pub actor: ActorRef<M>,
    /// Commands sent and not yet picked up; the actor decrements it as it takes each one.
    pub queued: Arc<AtomicUsize>,
}

impl<M: Send + 'static> Clone for Live<M> {
    fn clone(&self) -> Self {
        Live { actor: self.actor.clone(), queued: self.queued.clone() }
    }
}

/// Starts the actor of a key; gets the queue counter the actor must decrement.
pub type Starter<K, M> = Box<dyn Fn(K, Arc<AtomicUsize>) -> BoxFuture<'static, DomainResult<ActorRef<M>>> + Send + Sync>;

/// Something the supervisor can tell that an actor stopped, so the next use starts a fresh one.
pub trait Forget: Send + Sync {
    /// Forgets the actor with this id, if it is registered here.
    fn forget(&self, actor: ActorId);
}

/// Live actors of one kind.
pub struct Registry<K, M: Send + 'static> {
    live: DashMap<K, Arc<OnceCell<Live<M>>>>,
    keys: DashMap<ActorId, K>,
    starter: OnceLock<Starter<K, M>>,
    max_queued: usize,
    call_timeout: Duration,
}

impl<K, M> Registry<K, M>
where
    K: Copy + Eq + Hash + Send + Sync + std::fmt::Display + 'static,
    M: Send + 'static,
{
    /// An empty registry; `set_starter` must be called before the first use.
    pub fn new(max_queued: usize, call_timeout: Duration) -> Self {
        Registry { live: DashMap::new(), keys: DashMap::new(), starter: OnceLock::new(), max_queued, call_timeout }
    }

    /// How actors are started (set once, at wiring time: the starter usually needs the registry).
    pub fn set_starter(&self, starter: Starter<K, M>) {
        let _ = self.starter.set(starter);
    }

    /// The running actor of `key`, if any; never starts one.
    pub fn running(&self, key: K) -> Option<Live<M>> {
        self.live.get(&key).and_then(|cell| cell.get().cloned())
    }

    /// How many actors are live.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no actor is live.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every live actor (for shutdown).
    pub fn all(&self) -> Vec<ActorRef<M>> {
        self.live.iter().filter_map(|cell| cell.get().map(|l| l.actor.clone())).collect()
    }

    /// The actor of `key`, started if needed (single-flight per key).
    pub async fn get(&self, key: K) -> DomainResult<Live<M>> {
        if let Some(live) = self.running(key) {
            return Ok(live);
        }
        // The map's shard lock is held only for this lookup, never across the start.
        let cell = self.live.entry(key).or_default().clone();
        let started = cell
            .get_or_try_init(|| async {
                let starter = self.starter.get().ok_or(DomainError::Unavailable)?;
                let queued = Arc::new(AtomicUsize::new(0));
                let actor = starter(key, queued.clone()).await?;
                self.keys.insert(actor.get_id(), key);
                Ok::<_, DomainError>(Live { actor, queued })
            })
            .await;
        match started {
            Ok(live) => Ok(live.clone()),
            Err(e) => {
                // Let the next caller try again (the thread may exist by then, Postgres be back).
                self.live.remove_if(&key, |_, c| Arc::ptr_eq(c, &cell));
                Err(e)
            }
        }
    }

    /// Sends a message that is not a counted command, starting the actor if needed. An actor
    /// that is draining (idle stop) refuses new messages: the message goes to a fresh actor.
    pub async fn cast(&self, key: K, mut msg: M) -> DomainResult<()> {
        for _ in 0..3 {
            let live = self.get(key).await?;
            match live.actor.cast(msg) {
                Ok(()) => return Ok(()),
                Err(MessagingErr::SendErr(back)) => {
                    self.forget(live.actor.get_id());
                    msg = back;
                }
                Err(_) => return Err(DomainError::Unavailable),
            }
        }
        Err(DomainError::Unavailable)
    }

    /// Sends a command and waits for its answer, bounded by the call timeout. Refused with
    /// `Busy` when the actor already has `max_queued` commands waiting. A caller that gives up
    /// closes its reply port, and the actor skips the command instead of doing it for nobody.
    pub async fn ask<T: Send + 'static>(&self, key: K, make: impl FnOnce(RpcReplyPort<DomainResult<T>>) -> M) -> DomainResult<T> {
        let (tx, rx) = ractor::concurrency::oneshot();
        let mut msg = make(tx.into());
        let mut delivered = false;
        for _ in 0..3 {
            let live = self.get(key).await?;
            if live.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
                live.queued.fetch_sub(1, Ordering::AcqRel);
                metrics::counter!("switchboard_commands_refused_total").increment(1);
                return Err(DomainError::Busy);
            }
            match live.actor.cast(msg) {
                Ok(()) => {
                    delivered = true;
                    break;
                }
                Err(MessagingErr::SendErr(back)) => {
                    live.queued.fetch_sub(1, Ordering::AcqRel);
                    self.forget(live.actor.get_id());
                    msg = back;
                }
                Err(_) => {
                    live.queued.fetch_sub(1, Ordering::AcqRel);
                    return Err(DomainError::Unavailable);
                }
            }
        }
        if !delivered {
            return Err(DomainError::Unavailable);
        }
        match tokio::time::timeout(self.call_timeout, rx).await {
            Ok(Ok(result)) => result,
            // The actor dropped the reply (it failed) or did not answer in time.
            Ok(Err(_)) | Err(_) => Err(DomainError::Unavailable),
        }
    }
}

impl<K, M> Forget for Registry<K, M>
where
    K: Copy + Eq + Hash + Send + Sync + 'static,
    M: Send + 'static,
{
    fn forget(&self, actor: ActorId) {
        // Only this actor's entry goes: a newer actor for the same key stays registered.
        if let Some((_, key)) = self.keys.remove(&actor) {
            self.live.remove_if(&key, |_, cell| cell.get().is_some_and(|l| l.actor.get_id() == actor));
        }
    }
}

/// Called by an actor as it takes a counted command off its mailbox.
pub fn taken(queued: &AtomicUsize) {
    // Saturating: a command queued before a restart may be counted on the old actor only.
    let _ = queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_sub(1)));
}
