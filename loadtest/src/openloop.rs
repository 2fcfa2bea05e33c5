//! The open-loop stepper the webhook scenarios share (`webhooks`, `webhooks --direct`,
//! `status`): requests are sent on a fixed schedule at each asked rate whatever the server's
//! answers (a request due while `--max-inflight` are waiting is skipped, not queued), one step
//! per rate, stopping at the first saturated step. Each step reports its achieved rate, errors,
//! skips, p50/p90/p95/p99/max and the server's CPU; with `--pgbench`, each step's rate is also
//! printed as a share of what the box's Postgres commits (see `pgbench.rs`). A warm-up, not
//! measured, sends what must exist before the steps (each sender once).

use crate::guard;
use crate::pgbench;
use crate::probe;
use crate::report::{self, Latency, Report, Table, mib};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct StepArgs {
    /// Requests per second; a comma-separated list runs one step per rate, in order, and stops
    /// at the first step that saturates (see --max-error-rate and --max-p99).
    #[arg(long, value_delimiter = ',', default_value = "200", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub rps: Vec<u32>,
    /// How long each step sends.
    #[arg(long, default_value = "20s", value_parser = guard::parse_duration)]
    pub duration: Duration,
    /// Requests in flight at most; a request due while this many are waiting is counted as
    /// skipped rather than queued (open loop).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_inflight: u32,
    /// Timeout of each request.
    #[arg(long, default_value = "10s", value_parser = guard::parse_duration)]
    pub timeout: Duration,
    /// Pause between steps.
    #[arg(long, default_value = "3s", value_parser = guard::parse_duration)]
    pub pause: Duration,
    /// A step whose errors (incl. skipped) exceed this fraction is saturated.
    #[arg(long, default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// A step whose p99 latency exceeds this is saturated.
    #[arg(long, default_value = "2s", value_parser = guard::parse_duration)]
    pub max_p99: Duration,
    /// The server's pid, to read its memory and CPU from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Before the steps, run the pgbench baseline (16 clients of one-row durable INSERTs) on a
    /// scratch database of the Postgres at this URL (127.x only), and print each step's rate as
    /// a share of its transactions per second.
    #[arg(long)]
    pub pgbench: Option<String>,
    /// How long the pgbench baseline runs.
    #[arg(long, default_value = "20s", value_parser = guard::parse_duration)]
    pub pgbench_duration: Duration,
}

impl StepArgs {
    /// Requests all the steps send at most.
    pub fn total(&self) -> u64 {
        self.rps.iter().map(|&r| per_step(r, self.duration)).sum()
    }

    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        guard::check_fd_budget(self.max_inflight as usize, 16)?;
        Ok(reqwest::Client::builder().timeout(self.timeout).tcp_nodelay(true).pool_max_idle_per_host(self.max_inflight as usize).build()?)
    }
}

fn per_step(rps: u32, duration: Duration) -> u64 {
    (rps as f64 * duration.as_secs_f64()).round() as u64
}

/// Makes request `n` (numbered across all steps).
pub type MakeRequest<'a> = dyn FnMut(u64) -> anyhow::Result<reqwest::RequestBuilder> + 'a;

/// Runs the steps, adding their table, facts, latencies and failures to `r`. `ok` is the status
/// a handled request answers.
pub async fn run_steps(r: &mut Report, http: &reqwest::Client, base: &str, args: &StepArgs, ok: u16, make: &mut MakeRequest<'_>) {
    let baseline = match &args.pgbench {
        Some(url) => match pgbench::run(url, pgbench::CLIENTS, args.pgbench_duration).await {
            Ok(b) => {
                b.facts(r);
                Some(b.tps)
            }
            Err(e) => {
                r.fact("pgbench baseline", format!("failed: {e:#}"));
                None
            }
        },
        None => None,
    };
    r.fact("step duration (s)", args.duration.as_secs_f64()).fact("max in flight", args.max_inflight);
    let before = probe::sample(http, base, args.server_pid).await;
    let mut all = report::histogram();
    let mut saturated = None;
    let mut columns = vec![
        "rps asked",
        "rps sent",
        "rps achieved (OKs / wall time)",
        "ok",
        "errors",
        "skipped (in-flight cap)",
        "p50 ms",
        "p90 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "server CPU %",
    ];
    if baseline.is_some() {
        columns.push("achieved / pgbench tps (%)");
    }
    let mut table = Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows: vec![] };
    let mut next = 0u64;
    for (i, &rps) in args.rps.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(args.pause).await;
        }
        eprintln!("{}: {rps} rps for {:?}", r.scenario, args.duration);
        let s0 = probe::sample(http, base, args.server_pid).await;
        let step = step(args, rps, ok, &mut next, make).await;
        let s1 = probe::sample(http, base, args.server_pid).await;
        let cpu = s1.cpu_since(&s0).map(|ms| json!(round(ms as f64 / 10.0 / step.wall_time.as_secs_f64().max(0.001))));
        let _ = all.add(&step.latency);
        let l = Latency::from("", &step.latency);
        let failed: u64 = step.errors.values().sum::<u64>() + step.skipped;
        let error_rate = failed as f64 / step.dispatched.max(1) as f64;
        let achieved = step.ok as f64 / step.wall_time.as_secs_f64().max(0.001);
        let mut row = vec![
            json!(rps),
            json!(round((step.dispatched - step.skipped) as f64 / step.dispatch_time.as_secs_f64().max(0.001))),
            json!(round(achieved)),
            json!(step.ok),
            json!(step.errors.values().sum::<u64>()),
            json!(step.skipped),
            json!(l.p50_ms),
            json!(l.p90_ms),
            json!(p95_ms(&step.latency)),
            json!(l.p99_ms),
            json!(l.max_ms),
            cpu.unwrap_or(Value::Null),
        ];
        if let Some(tps) = baseline {
            row.push(json!(round(achieved / tps.max(0.001) * 100.0)));
        }
        table.rows.push(row);
        r.failures(&step.errors.iter().map(|(k, v)| (format!("{rps} rps: {k}"), *v)).collect());
        if step.skipped > 0 {
            r.failures(&BTreeMap::from([(format!("{rps} rps: skipped, {} already in flight", args.max_inflight), step.skipped)]));
        }
        let p99 = Duration::from_micros((l.p99_ms * 1000.0) as u64);
        if error_rate > args.max_error_rate || p99 > args.max_p99 {
            saturated = Some(format!("{rps} rps (errors {:.1}%, p99 {} ms)", error_rate * 100.0, l.p99_ms));
            break;
        }
    }
    let after = probe::sample(http, base, args.server_pid).await;
    r.fact("saturated at", saturated.unwrap_or_else(|| "not reached".into()));
    if let (Some(b), Some(a)) = (before.rss_kib, after.rss_kib) {
        r.fact("server RSS before → after", format!("{} → {}", mib(b), mib(a)));
    }
    r.latency(&format!("request → {ok} (all steps)"), &all);
    r.table = Some(table);
}

fn p95_ms(h: &hdrhistogram::Histogram<u64>) -> f64 {
    if h.is_empty() { 0.0 } else { (h.value_at_quantile(0.95) as f64 / 10.0).round() / 100.0 }
}

pub fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One step's results.
struct Step {
    dispatched: u64,
    skipped: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    latency: hdrhistogram::Histogram<u64>,
    dispatch_time: Duration,
    wall_time: Duration,
}

/// What a step's requests came back with.
#[derive(Default)]
struct Outcomes {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latency: Option<hdrhistogram::Histogram<u64>>,
}

fn classify(res: Result<reqwest::Response, reqwest::Error>, ok: u16) -> Result<(), String> {
    match res {
        Ok(res) if res.status().as_u16() == ok => Ok(()),
        Ok(res) => Err(format!("HTTP {}", res.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timeout".into()),
        Err(e) if e.is_connect() => Err("connect".into()),
        Err(_) => Err("request failed".into()),
    }
}

async fn step(args: &StepArgs, rps: u32, ok: u16, next: &mut u64, make: &mut MakeRequest<'_>) -> Step {
    let total = per_step(rps, args.duration);
    let gate = Arc::new(Semaphore::new(args.max_inflight as usize));
    let results = Arc::new(Mutex::new(Outcomes { latency: Some(report::histogram()), ..Outcomes::default() }));
    let mut tasks = JoinSet::new();
    let mut skipped = 0;
    let start = Instant::now();
    for n in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rps as f64)).await;
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let req = make(*next);
        *next += 1;
        let results = results.clone();
        tasks.spawn(async move {
            let t0 = Instant::now();
            let outcome = match req {
                Ok(req) => classify(req.send().await, ok),
                Err(e) => Err(format!("request not made: {e}")),
            };
            let took = t0.elapsed();
            drop(permit);
            let mut r = results.lock().expect("not poisoned");
            match outcome {
                Ok(()) => {
                    r.ok += 1;
                    report::record(r.latency.as_mut().expect("set"), took);
                }
                Err(kind) => *r.errors.entry(kind).or_default() += 1,
            }
        });
        // Reap finished tasks so the set does not grow with the whole step.
        while tasks.try_join_next().is_some() {}
    }
    let dispatch_time = start.elapsed();
    while tasks.join_next().await.is_some() {}
    let wall_time = start.elapsed();
    let Outcomes { ok, errors, latency } = std::mem::take(&mut *results.lock().expect("not poisoned"));
    Step { dispatched: total, skipped, ok, errors, latency: latency.expect("set"), dispatch_time, wall_time }
}

/// Sends requests `0..count` closed loop, `concurrency` at a time, not measured: what the steps
/// need to exist first. Adds its count, errors and time to `r`.
pub async fn warmup(r: &mut Report, count: u64, concurrency: usize, ok: u16, make: &mut MakeRequest<'_>) {
    let start = Instant::now();
    let reqs: Vec<_> = (0..count).map(&mut *make).collect();
    let outcomes: Vec<Result<(), String>> = futures_util::stream::iter(reqs)
        .map(|req| async move {
            match req {
                Ok(req) => classify(req.send().await, ok),
                Err(e) => Err(format!("request not made: {e}")),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut errors = BTreeMap::new();
    for e in outcomes.into_iter().filter_map(Result::err) {
        *errors.entry(format!("warm-up: {e}")).or_insert(0u64) += 1;
    }
    let failed: u64 = errors.values().sum();
    r.fact("warm-up (not measured)", format!("{count} requests, {failed} failed, {:.1} s", start.elapsed().as_secs_f64()));
    r.failures(&errors);
}
