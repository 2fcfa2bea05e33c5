//! `loadtest webhooks`: inbound SMS through `POST /api/simulator/inbound` from many distinct
//! numbers, open loop at one or more rates. The server signs each one and posts it to its own
//! Twilio webhook, so this measures the whole verified path: token lookup, signature check,
//! receipt, thread lookup or creation, the thread actor's commit and the fan-out.

use crate::guard;
use crate::plan::{self, Plan};
use crate::probe;
use crate::report::{self, Latency, Report, Table, mib};
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Area codes of the senders (distinct from the contacts `setup` creates).
const SENDER_AREAS: &[u16] = &[415, 628, 650, 312, 773, 305];

#[derive(Args, Debug)]
pub struct WebhooksArgs {
    /// The plan written by `loadtest setup`.
    #[arg(long, default_value = "/tmp/lt.json")]
    pub plan: PathBuf,
    /// Requests per second; a comma-separated list runs one step per rate, in order, and stops
    /// at the first step that saturates (see --max-error-rate and --max-p99).
    #[arg(long, value_delimiter = ',', default_value = "200", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub rps: Vec<u32>,
    /// How long each step sends.
    #[arg(long, default_value = "20s", value_parser = guard::parse_duration)]
    pub duration: Duration,
    /// Distinct `from` numbers, used round-robin (the first message from each creates its contact
    /// and thread).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub senders: u32,
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
    /// The server's pid, to read its memory from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
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

pub async fn run(args: WebhooksArgs) -> anyhow::Result<Report> {
    let plan = Plan::load(&args.plan)?;
    guard::loopback_base(&plan.base)?;
    guard::check_fd_budget(args.max_inflight as usize, 16)?;
    let http =
        reqwest::Client::builder().timeout(args.timeout).tcp_nodelay(true).pool_max_idle_per_host(args.max_inflight as usize).build()?;
    let plan = Arc::new(plan);
    let mut r = Report::new("webhooks");
    r.fact("endpoint", "POST /api/simulator/inbound (→ signed POST /webhooks/twilio/messages)")
        .fact("distinct senders", args.senders)
        .fact("step duration (s)", args.duration.as_secs_f64())
        .fact("max in flight", args.max_inflight);
    let before = probe::sample(&http, &plan.base, args.server_pid).await;
    let mut all = report::histogram();
    let mut next_sender = 0usize;
    let mut saturated = None;
    let columns = [
        "rps asked",
        "rps sent",
        "rps achieved (202s / wall time)",
        "ok",
        "errors",
        "skipped (in-flight cap)",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
    ];
    let mut table = Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows: vec![] };
    for (i, &rps) in args.rps.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(args.pause).await;
        }
        eprintln!("webhooks: {rps} rps for {:?}", args.duration);
        let s0 = probe::sample(&http, &plan.base, args.server_pid).await;
        let step = step(&http, &plan, &args, rps, &mut next_sender).await;
        let s1 = probe::sample(&http, &plan.base, args.server_pid).await;
        let cpu = s1.cpu_since(&s0).map(|ms| json!(round(ms as f64 / 10.0 / step.wall_time.as_secs_f64().max(0.001))));
        let _ = all.add(&step.latency);
        let l = Latency::from("", &step.latency);
        let failed: u64 = step.errors.values().sum::<u64>() + step.skipped;
        let error_rate = failed as f64 / step.dispatched.max(1) as f64;
        table.rows.push(vec![
            json!(rps),
            json!(round((step.dispatched - step.skipped) as f64 / step.dispatch_time.as_secs_f64().max(0.001))),
            json!(round(step.ok as f64 / step.wall_time.as_secs_f64().max(0.001))),
            json!(step.ok),
            json!(step.errors.values().sum::<u64>()),
            json!(step.skipped),
            json!(l.p50_ms),
            json!(l.p90_ms),
            json!(l.p99_ms),
            json!(l.max_ms),
            cpu.unwrap_or(serde_json::Value::Null),
        ]);
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
    let after = probe::sample(&http, &plan.base, args.server_pid).await;
    r.fact("saturated at", saturated.unwrap_or_else(|| "not reached".into()));
    if let (Some(b), Some(a)) = (before.rss_kib, after.rss_kib) {
        r.fact("server RSS before → after", format!("{} → {}", mib(b), mib(a)));
    }
    r.latency("request → 202 (all steps)", &all);
    r.table = Some(table);
    Ok(r)
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What a step's requests came back with.
struct Outcomes {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latency: hdrhistogram::Histogram<u64>,
}

async fn step(http: &reqwest::Client, plan: &Arc<Plan>, args: &WebhooksArgs, rps: u32, next_sender: &mut usize) -> Step {
    let total = (rps as f64 * args.duration.as_secs_f64()).round() as u64;
    let gate = Arc::new(Semaphore::new(args.max_inflight as usize));
    let results = Arc::new(Mutex::new(Outcomes { ok: 0, errors: BTreeMap::new(), latency: report::histogram() }));
    let mut tasks = JoinSet::new();
    let mut skipped = 0;
    let start = Instant::now();
    for n in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rps as f64)).await;
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let from = plan::phone(SENDER_AREAS, *next_sender % args.senders as usize);
        *next_sender += 1;
        let (http, plan, results) = (http.clone(), plan.clone(), results.clone());
        tasks.spawn(async move {
            let t0 = Instant::now();
            let body = json!({ "from": from, "channel": "sms", "body": format!("load test inbound {n}") });
            let res = http.post(format!("{}/api/simulator/inbound", plan.base)).bearer_auth(&plan.token).json(&body).send().await;
            let took = t0.elapsed();
            drop(permit);
            let mut r = results.lock().expect("not poisoned");
            match res {
                Ok(res) if res.status().as_u16() == 202 => {
                    r.ok += 1;
                    report::record(&mut r.latency, took);
                }
                Ok(res) => *r.errors.entry(format!("HTTP {}", res.status().as_u16())).or_default() += 1,
                Err(e) if e.is_timeout() => *r.errors.entry("timeout".into()).or_default() += 1,
                Err(e) if e.is_connect() => *r.errors.entry("connect".into()).or_default() += 1,
                Err(_) => *r.errors.entry("request failed".into()).or_default() += 1,
            }
        });
        // Reap finished tasks so the set does not grow with the whole step.
        while tasks.try_join_next().is_some() {}
    }
    let dispatch_time = start.elapsed();
    while tasks.join_next().await.is_some() {}
    let wall_time = start.elapsed();
    let Outcomes { ok, errors, latency } = std::mem::replace(
        &mut *results.lock().expect("not poisoned"),
        Outcomes { ok: 0, errors: BTreeMap::new(), latency: report::histogram() },
    );
    Step { dispatched: total, skipped, ok, errors, latency, dispatch_time, wall_time }
}
