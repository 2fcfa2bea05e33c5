//! Opening many clients with bounded concurrency: each client binds its socket to the next
//! source address (round-robin), connects, subscribes, and is then handed to a session task
//! (hold, or read a fan-out) that runs until the scenario stops it.

use crate::pusher::{self, Target, Timing, Ws};
use crate::report;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How to ramp.
#[derive(Clone, Debug)]
pub struct RampOpts {
    pub clients: usize,
    /// Clients connecting and subscribing at once.
    pub concurrency: usize,
    /// Per step (connect, handshake, auth, subscribe).
    pub timeout: Duration,
    pub sources: Vec<Ipv4Addr>,
    /// Stop starting new clients after this long.
    pub max_ramp: Duration,
}

/// What the ramp achieved; `sessions` keep running until the caller stops them.
pub struct Ramp {
    pub connected: u64,
    pub attempted: u64,
    pub elapsed: Duration,
    pub established: Histogram<u64>,
    pub subscribed: Histogram<u64>,
    pub failures: BTreeMap<String, u64>,
    pub sessions: JoinSet<()>,
    /// Clients that reported (connected or failed).
    pub done: u64,
}

/// Connects `opts.clients` clients, client `i` subscribing to `channels(i)`, and starts
/// `session(i, ws)` for each that made it. Returns once every client is connected or failed.
pub async fn ramp<C, S, F>(target: Arc<Target>, opts: &RampOpts, channels: C, session: S) -> Ramp
where
    C: Fn(usize) -> Vec<String> + Send + Sync + 'static,
    S: Fn(usize, Ws) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let channels = Arc::new(channels);
    let session = Arc::new(session);
    let gate = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<Timing, pusher::Failure>>();
    let mut sessions = JoinSet::new();
    let start = Instant::now();
    let deadline = start + opts.max_ramp;
    let mut ramp = Ramp {
        connected: 0,
        attempted: 0,
        elapsed: Duration::ZERO,
        established: report::histogram(),
        subscribed: report::histogram(),
        failures: BTreeMap::new(),
        sessions: JoinSet::new(),
        done: 0,
    };
    let note = |ramp: &mut Ramp, outcome: Result<Timing, pusher::Failure>| {
        match outcome {
            Ok(t) => {
                ramp.connected += 1;
                report::record(&mut ramp.established, t.established);
                report::record(&mut ramp.subscribed, t.subscribed);
            }
            Err(f) => *ramp.failures.entry(f.kind()).or_default() += 1,
        }
        ramp.done += 1;
        if ramp.done.is_multiple_of(1000) {
            eprintln!("  {} clients done ({} connected) after {:.1}s", ramp.done, ramp.connected, start.elapsed().as_secs_f64());
        }
    };
    for i in 0..opts.clients {
        let permit = tokio::select! {
            p = gate.clone().acquire_owned() => p.expect("the gate is never closed"),
            _ = tokio::time::sleep_until(deadline) => break,
        };
        while let Ok(outcome) = rx.try_recv() {
            note(&mut ramp, outcome);
        }
        ramp.attempted += 1;
        let (target, channels, session, tx) = (target.clone(), channels.clone(), session.clone(), tx.clone());
        let source = opts.sources[i % opts.sources.len()];
        let wait = opts.timeout;
        sessions.spawn(async move {
            let result = pusher::connect(&target, source, &channels(i), wait).await;
            drop(permit);
            match result {
                Ok((ws, timing)) => {
                    let _ = tx.send(Ok(timing));
                    session(i, ws).await;
                }
                Err(f) => {
                    let _ = tx.send(Err(f));
                }
            }
        });
    }
    drop(tx);
    // Every started client reports once; a client cannot take longer than its steps' timeouts.
    let last = Instant::now() + opts.timeout * 4 + Duration::from_secs(5);
    while ramp.done < ramp.attempted {
        match tokio::time::timeout_at(last, rx.recv()).await {
            Ok(Some(outcome)) => note(&mut ramp, outcome),
            Ok(None) | Err(_) => break,
        }
    }
    ramp.elapsed = start.elapsed();
    ramp.sessions = sessions;
    ramp
}

/// Waits for the sessions to finish, at most `wait`, then aborts the rest.
pub async fn join(mut sessions: JoinSet<()>, wait: Duration) {
    let all = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(wait, all).await.is_err() {
        sessions.abort_all();
    }
}
