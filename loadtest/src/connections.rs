//! `loadtest connections`: many idle clients, each subscribed to the team presence channel and a
//! thread channel, held open for a while. Measures connect+subscribe latency, failures, and the
//! server's memory per connection.

use crate::guard;
use crate::plan::Plan;
use crate::probe::{self, Sample};
use crate::pusher::{self, Failure, Target};
use crate::ramp::{self, RampOpts};
use crate::report::{Report, mib};
use clap::Args;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

#[derive(Args, Debug)]
pub struct ConnectionsArgs {
    /// The plan written by `loadtest setup`.
    #[arg(long, default_value = "/tmp/lt.json")]
    pub plan: PathBuf,
    /// Clients to open (one socket each), at most 9,000 per process: run two processes for more
    /// (see the README).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=crate::guard::MAX_CLIENTS_PER_PROCESS as i64))]
    pub clients: u32,
    /// Local addresses to connect from, round-robin (127.x only).
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
    pub source_ips: Vec<Ipv4Addr>,
    /// Channels per client: 0 = none (socket only), 1 = team presence, 2 = + one thread channel,
    /// 3 = + the user's private channel.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub subscribe: u8,
    /// How long to keep every client open once the ramp is done.
    #[arg(long, default_value = "30s", value_parser = guard::parse_duration)]
    pub hold: Duration,
    /// Clients connecting at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=2_000))]
    pub concurrency: u32,
    /// Timeout of each step of a connect.
    #[arg(long, default_value = "15s", value_parser = guard::parse_duration)]
    pub timeout: Duration,
    /// Give up starting clients after this long.
    #[arg(long, default_value = "5m", value_parser = guard::parse_duration)]
    pub max_ramp: Duration,
    /// The server's pid, to read its memory (VmRSS) and open files from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

pub async fn run(args: ConnectionsArgs) -> anyhow::Result<Report> {
    let plan = Plan::load(&args.plan)?;
    let (_, addr) = guard::loopback_base(&plan.base)?;
    guard::loopback_sources(&args.source_ips)?;
    guard::check_fd_budget(args.clients as usize, args.concurrency as usize)?;
    let target = Arc::new(Target::new(&plan, addr, args.concurrency as usize, args.timeout)?);
    let probe_http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;

    let before = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    let own_before = probe::own_rss_kib();
    let own_cpu_before = probe::cpu_ms(std::process::id());
    eprintln!("connections: {} clients from {:?}, server before: {before:?}", args.clients, args.source_ips);

    let (stop_tx, stop_rx) = watch::channel(false);
    let dropped: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let subscribe = args.subscribe;
    let plan = Arc::new(plan);
    let channels = {
        let plan = plan.clone();
        move |i: usize| {
            let mut c = vec![];
            if subscribe >= 1 {
                c.push(plan.team_channel());
            }
            if subscribe >= 2 {
                c.push(plan.thread_channel(i));
            }
            if subscribe >= 3 {
                c.push(plan.user_channel());
            }
            c
        }
    };
    let session = {
        let dropped = dropped.clone();
        move |_i: usize, ws: pusher::Ws| hold(ws, stop_rx.clone(), dropped.clone())
    };
    let opts = RampOpts {
        clients: args.clients as usize,
        concurrency: args.concurrency as usize,
        timeout: args.timeout,
        sources: args.source_ips.clone(),
        max_ramp: args.max_ramp,
    };
    let ramp = ramp::ramp(target, &opts, channels, session).await;
    eprintln!(
        "ramp done: {} of {} connected in {:.1}s; holding {:?}",
        ramp.connected,
        ramp.attempted,
        ramp.elapsed.as_secs_f64(),
        args.hold
    );
    // A moment for the server to finish the last subscriptions before it is measured.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    let own_held = probe::own_rss_kib();
    let own_cpu_ramp = probe::cpu_ms(std::process::id());
    tokio::time::sleep(args.hold.saturating_sub(Duration::from_secs(2))).await;
    let held = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    let _ = stop_tx.send(true);
    ramp::join(ramp.sessions, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = probe::sample(&probe_http, &plan.base, args.server_pid).await;

    let mut r = Report::new("connections");
    r.fact("clients asked", args.clients)
        .fact("clients started", ramp.attempted)
        .fact("connected and subscribed", ramp.connected)
        .fact("channels per client", args.subscribe)
        .fact("source addresses", args.source_ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(","))
        .fact("concurrency", args.concurrency)
        .fact("ramp time (s)", round(ramp.elapsed.as_secs_f64()))
        .fact("ramp rate (clients/s)", round(ramp.connected as f64 / ramp.elapsed.as_secs_f64().max(0.001)))
        .fact("hold (s)", args.hold.as_secs_f64());
    let dropped = dropped.lock().expect("not poisoned").clone();
    r.fact("dropped during hold", dropped.values().sum::<u64>());
    memory_facts(&mut r, &before, &settled, &held, &after);
    // Measured the same way on any server (a peer has no /metrics of ours): RSS growth over the
    // clients this run connected.
    if let (Some(b), Some(h)) = (before.rss_kib, held.rss_kib)
        && ramp.connected > 0
    {
        r.fact("server KiB per connected client (RSS growth / clients)", round(h.saturating_sub(b) as f64 / ramp.connected as f64));
    }
    if let (Some(c0), Some(c1)) = (own_cpu_before, own_cpu_ramp) {
        r.fact("loadtest CPU during ramp", format!("{:.2} s", c1.saturating_sub(c0) as f64 / 1000.0));
    }
    if let (Some(a), Some(b)) = (own_before, own_held) {
        r.fact("loadtest RSS while holding", mib(b))
            .fact("loadtest KiB per client", round(b.saturating_sub(a) as f64 / ramp.connected.max(1) as f64));
    }
    r.latency("established (TCP + WS handshake + connection_established)", &ramp.established)
        .latency("connected + subscribed (incl. /pusher/auth)", &ramp.subscribed)
        .failures(&ramp.failures)
        .failures(&dropped);
    Ok(r)
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The server's memory at each point, and per connection: the growth over the baseline divided
/// by the connections the server itself counted (so two loadtest processes measure the same),
/// taken at whichever sample saw the most connections.
fn memory_facts(r: &mut Report, before: &Sample, settled: &Sample, held: &Sample, after: &Sample) {
    let show = |s: &Sample| {
        format!(
            "{} RSS, {} fds, {} connections",
            s.rss_kib.map(mib).unwrap_or_else(|| "?".into()),
            s.fds.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
            s.connections.map(|c| c.to_string()).unwrap_or_else(|| "?".into())
        )
    };
    r.fact("server before", show(before))
        .fact("server after ramp (+2s)", show(settled))
        .fact("server at end of hold", show(held))
        .fact("server 3s after close", show(after));
    let cpu = |a: &Sample, b: &Sample| b.cpu_since(a).map(|ms| format!("{:.2} s", ms as f64 / 1000.0)).unwrap_or_else(|| "?".into());
    r.fact("server CPU during ramp", cpu(before, settled)).fact("server CPU during hold", cpu(settled, held));
    let peak = if held.connections >= settled.connections { held } else { settled };
    if let (Some(b), Some(p), Some(c0), Some(c)) = (before.rss_kib, peak.rss_kib, before.connections, peak.connections) {
        let n = c.saturating_sub(c0);
        if n > 0 {
            r.fact("server connections at peak", n)
                .fact("server KiB per connection (RSS growth / connections)", round(p.saturating_sub(b) as f64 / n as f64));
        }
    }
}

/// Keeps a client open, answering pings, until the stop signal; a server close is counted.
async fn hold(mut ws: pusher::Ws, mut stop: watch::Receiver<bool>, dropped: Arc<Mutex<BTreeMap<String, u64>>>) {
    while !*stop.borrow_and_update() {
        tokio::select! {
            _ = stop.changed() => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if t.contains("\"pusher:ping\"") && pusher::pong(&mut ws).await.is_err() {
                        count(&dropped, Failure::Closed("during hold", None));
                        return;
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    count(&dropped, Failure::Closed("during hold", c.map(|c| u16::from(c.code))));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    count(&dropped, Failure::Closed("during hold", None));
                    return;
                }
            }
        }
    }
    pusher::close(ws).await;
}

fn count(map: &Mutex<BTreeMap<String, u64>>, f: Failure) {
    *map.lock().expect("not poisoned").entry(f.kind()).or_default() += 1;
}
