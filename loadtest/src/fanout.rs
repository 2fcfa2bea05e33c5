//! `loadtest fanout`: many subscribers on one thread channel while a sender posts messages (or
//! public notes) at a steady rate. Each body carries its send time; latency is from just before
//! the POST to each subscriber's receipt of `message.created` / `note.created`.
//!
//! Against any Pusher-protocol server (a plan with the app secret), the sender publishes instead
//! by client events (`client-load`, from a few publisher sockets on the channel: every server
//! relays those to the channel's other members) or by the Pusher HTTP API (`POST
//! /apps/{id}/events`, signed as the server libraries sign it), and latency is to each
//! subscriber's receipt of that event.

use crate::guard;
use crate::plan::Plan;
use crate::probe;
use crate::pusher::{self, Failure, Target};
use crate::ramp::{self, RampOpts};
use crate::report::{self, Report, mib};
use clap::{Args, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// What the sender posts.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    /// `POST /api/messages` (outbound SMS through the simulator): `message.created`, then two
    /// `message.updated` (sent, delivered) per message.
    Message,
    /// `POST /api/threads/{id}/notes` with visibility public: one `note.created` per note.
    Note,
    /// A `client-load` client event from one of `--publishers` sockets subscribed to the channel
    /// (any Pusher server; the plan needs the app secret).
    ClientEvent,
    /// `POST /apps/{app_id}/events` (event `load`), signed with the app secret: servers with the
    /// Pusher HTTP API (Sockudo, Soketi, Reverb, Pusher).
    HttpApi,
}

/// The event names a subscriber times.
const TIMED_EVENTS: [&str; 4] = ["message.created", "note.created", "client-load", "load"];

#[derive(Args, Debug)]
pub struct FanoutArgs {
    /// The plan written by `loadtest setup`.
    #[arg(long, default_value = "/tmp/lt.json")]
    pub plan: PathBuf,
    /// Clients subscribed to the one thread channel (at most 9,000 per process).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=crate::guard::MAX_CLIENTS_PER_PROCESS as i64))]
    pub subscribers: u32,
    /// Messages to post.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub messages: u32,
    /// Messages per second.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub rate: u32,
    /// What to post.
    #[arg(long, value_enum, default_value_t = Kind::Message)]
    pub kind: Kind,
    /// Which of the plan's threads to use.
    #[arg(long, default_value_t = 0)]
    pub thread: usize,
    /// Local addresses to connect from, round-robin (127.x only).
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
    pub source_ips: Vec<Ipv4Addr>,
    /// Subscribers connecting at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=2_000))]
    pub concurrency: u32,
    /// Timeout of each connect step and of each POST.
    #[arg(long, default_value = "15s", value_parser = guard::parse_duration)]
    pub timeout: Duration,
    /// After the last POST, how long to wait for deliveries still on their way.
    #[arg(long, default_value = "10s", value_parser = guard::parse_duration)]
    pub drain: Duration,
    /// The server's pid, to read its memory from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Post to this node instead (same database, Redis between them): measures fan-out across
    /// nodes, subscribers on the plan's base and the sender on another.
    #[arg(long)]
    pub sender_base: Option<String>,
    /// Publisher sockets for `--kind client-event` (servers limit client events per socket:
    /// Switchboard to 10/s, so the rate needs rate/10 of them).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub publishers: u32,
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// What the sender and the subscribers share.
struct Shared {
    /// `lt-{run}-`: only this run's messages count.
    marker: String,
    /// Per message: unix µs just before its POST (0 until sent).
    sent_at: Vec<AtomicU64>,
    /// Per message: unix µs of the latest receipt by any subscriber.
    last_at: Vec<AtomicU64>,
    delivered: AtomicU64,
    closed: AtomicU64,
    agg: Mutex<Agg>,
}

/// Merged subscriber results.
struct Agg {
    latency: Histogram<u64>,
    frames: u64,
    bytes: u64,
    duplicates: u64,
    closes: BTreeMap<String, u64>,
}

/// One subscriber's own tally (merged into `Agg` when it stops).
struct Tally {
    latency: Histogram<u64>,
    seen: Vec<u64>,
    frames: u64,
    bytes: u64,
    duplicates: u64,
}

impl Shared {
    /// Parses `lt-{run}-{n}-{micros}` out of a frame of this run.
    fn parse(&self, text: &str) -> Option<(usize, u64)> {
        let at = text.find(&self.marker)? + self.marker.len();
        let mut parts = text[at..].splitn(3, '-');
        let n: usize = parts.next()?.parse().ok()?;
        let micros: u64 = parts.next()?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
        (n < self.sent_at.len()).then_some((n, micros))
    }
}

pub async fn run(args: FanoutArgs) -> anyhow::Result<Report> {
    let plan = Plan::load(&args.plan)?;
    let (_, addr) = guard::loopback_base(&plan.base)?;
    guard::loopback_sources(&args.source_ips)?;
    guard::check_fd_budget(args.subscribers as usize, args.concurrency as usize + 64)?;
    let target = Arc::new(Target::new(&plan, addr, args.concurrency as usize, args.timeout)?);
    let sender_base: Arc<str> = match &args.sender_base {
        Some(base) => {
            guard::loopback_base(base)?;
            base.trim_end_matches('/').into()
        }
        None => target.base.as_str().into(),
    };
    let probe_http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let thread_id = plan.threads[args.thread % plan.threads.len()].clone();
    let channel = plan.thread_channel(args.thread);
    let messages = args.messages as usize;
    let run_id = format!("{:x}", now_micros() % 0xffff_ffff);
    let shared = Arc::new(Shared {
        marker: format!("lt-{run_id}-"),
        sent_at: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        last_at: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        delivered: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        agg: Mutex::new(Agg { latency: report::histogram(), frames: 0, bytes: 0, duplicates: 0, closes: BTreeMap::new() }),
    });
    let before = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    eprintln!("fanout: {} subscribers on {channel}, {messages} x {:?} at {}/s", args.subscribers, args.kind, args.rate);

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_rx_pub = stop_rx.clone();
    let opts = RampOpts {
        clients: args.subscribers as usize,
        concurrency: args.concurrency as usize,
        timeout: args.timeout,
        sources: args.source_ips.clone(),
        max_ramp: Duration::from_secs(300),
    };
    let session = {
        let shared = shared.clone();
        move |_i: usize, ws: pusher::Ws| subscriber(ws, stop_rx.clone(), shared.clone())
    };
    let ch = channel.clone();
    let ramp = ramp::ramp(target.clone(), &opts, move |_| vec![ch.clone()], session).await;
    eprintln!("{} of {} subscribed in {:.1}s; sending", ramp.connected, ramp.attempted, ramp.elapsed.as_secs_f64());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let subscribed = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    let own_cpu = probe::cpu_ms(std::process::id());

    let mut publisher_tasks = JoinSet::new();
    let publishers = match args.kind {
        Kind::ClientEvent => {
            anyhow::ensure!(plan.secret.is_some(), "client events need a plan with the app secret (peer-setup, or setup --secret)");
            let sources = args.source_ips.clone();
            let mut out = Vec::new();
            for i in 0..args.publishers as usize {
                let source = sources[i % sources.len()];
                let (ws, _) = pusher::connect(&target, source, std::slice::from_ref(&channel), args.timeout)
                    .await
                    .map_err(|f| anyhow::anyhow!("publisher {i}: {}", f.kind()))?;
                out.push(publisher(ws, stop_rx_pub.clone(), &mut publisher_tasks));
            }
            out
        }
        Kind::HttpApi => {
            anyhow::ensure!(
                plan.secret.is_some() && plan.app_id.is_some(),
                "the HTTP API needs a plan with the app id and secret (peer-setup)"
            );
            vec![]
        }
        Kind::Message | Kind::Note => vec![],
    };
    let publishers = Arc::new(publishers);

    // The sender: open loop at the asked rate, each POST on its own task.
    let post_latency = Arc::new(Mutex::new(report::histogram()));
    let post_failures: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let posted_ok = Arc::new(AtomicU64::new(0));
    let mut posts = JoinSet::new();
    let start = Instant::now();
    for n in 0..messages {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / args.rate as f64)).await;
        let (target, shared, lat, fails, ok) =
            (target.clone(), shared.clone(), post_latency.clone(), post_failures.clone(), posted_ok.clone());
        let (kind, thread_id, sender_base) = (args.kind, thread_id.clone(), sender_base.clone());
        let (channel, publishers) = (channel.clone(), publishers.clone());
        posts.spawn(async move {
            let t0 = Instant::now();
            let micros = now_micros();
            shared.sent_at[n].store(micros, Ordering::Release);
            let body = format!("{}{n}-{micros}- load test", shared.marker);
            let req = match kind {
                Kind::Message => {
                    target.http.post(format!("{sender_base}/api/messages")).json(&json!({ "thread_id": thread_id, "body": body }))
                }
                Kind::Note => target
                    .http
                    .post(format!("{sender_base}/api/threads/{thread_id}/notes"))
                    .json(&json!({ "body": body, "visibility": "public" })),
                Kind::HttpApi => api_publish(&target, &sender_base, &channel, &body),
                Kind::ClientEvent => {
                    let frame = json!({ "event": "client-load", "channel": channel, "data": { "body": body } }).to_string();
                    let outcome = match publishers[n % publishers.len()].try_send(frame) {
                        Ok(()) => Ok(()),
                        Err(_) => Err("publisher socket backed up or closed".to_owned()),
                    };
                    return finish(outcome, n, t0, &shared, &lat, &fails, &ok);
                }
            };
            let req = if target.token.is_empty() { req } else { req.bearer_auth(&target.token) };
            let outcome = match req.send().await {
                Ok(res) if res.status().is_success() => Ok(()),
                Ok(res) => Err(format!("POST HTTP {}", res.status().as_u16())),
                Err(e) if e.is_timeout() => Err("POST timeout".to_owned()),
                Err(_) => Err("POST failed".to_owned()),
            };
            finish(outcome, n, t0, &shared, &lat, &fails, &ok)
        });
    }
    let send_time = start.elapsed();
    while posts.join_next().await.is_some() {}
    let posted = posted_ok.load(Ordering::Relaxed);
    let deadline = Instant::now() + args.drain;
    loop {
        let live = ramp.connected.saturating_sub(shared.closed.load(Ordering::Relaxed));
        if shared.delivered.load(Ordering::Relaxed) >= posted * live || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_done = start.elapsed();
    let held = probe::sample(&probe_http, &plan.base, args.server_pid).await;
    let own_cpu = own_cpu.zip(probe::cpu_ms(std::process::id())).map(|(a, b)| b.saturating_sub(a));
    let _ = stop_tx.send(true);
    drop(publishers);
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while publisher_tasks.join_next().await.is_some() {} }).await;
    ramp::join(ramp.sessions, Duration::from_secs(30)).await;

    let agg = shared.agg.lock().expect("not poisoned");
    let mut last = report::histogram();
    for n in 0..messages {
        let (s, l) = (shared.sent_at[n].load(Ordering::Acquire), shared.last_at[n].load(Ordering::Acquire));
        if s > 0 && l >= s {
            last.saturating_record((l - s).max(1));
        }
    }
    let delivered = shared.delivered.load(Ordering::Relaxed);
    let expected = posted * ramp.connected;
    let mut r = Report::new("fanout");
    r.fact("subscribers connected", ramp.connected)
        .fact("channel", channel)
        .fact("kind", format!("{:?}", args.kind).to_lowercase())
        .fact("messages posted OK", posted)
        .fact("rate asked (msg/s)", args.rate)
        .fact("rate achieved (msg/s)", (posted as f64 / send_time.as_secs_f64().max(0.001) * 10.0).round() / 10.0)
        .fact("deliveries expected (posted × subscribers)", expected)
        .fact("delivered", delivered)
        .fact("missing", expected.saturating_sub(delivered))
        .fact("duplicates", agg.duplicates)
        .fact("deliveries per second", (delivered as f64 / all_done.as_secs_f64().max(0.001)).round())
        .fact("frames received (all events)", agg.frames)
        .fact("bytes received", agg.bytes)
        .fact("subscribers closed by the server", shared.closed.load(Ordering::Relaxed));
    for (s, name) in [(&before, "server RSS before"), (&subscribed, "server RSS subscribed"), (&held, "server RSS after sending")] {
        if let Some(kib) = s.rss_kib {
            r.fact(name, mib(kib));
        }
    }
    let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1000.0);
    r.fact("sending + delivery time (s)", (all_done.as_secs_f64() * 10.0).round() / 10.0);
    if let Some(ms) = held.cpu_since(&subscribed) {
        r.fact("server CPU while sending", secs(ms));
    }
    if let Some(ms) = own_cpu {
        r.fact("loadtest CPU while sending", secs(ms));
    }
    r.latency("POST → subscriber receipt (every delivery)", &agg.latency)
        .latency("POST → last subscriber (per message)", &last)
        .latency("POST response", &post_latency.lock().expect("not poisoned"))
        .latency("subscriber connected + subscribed", &ramp.subscribed)
        .failures(&ramp.failures)
        .failures(&post_failures.lock().expect("not poisoned"))
        .failures(&agg.closes);
    Ok(r)
}

/// Counts one send's outcome (its POST, or its hand-over to a publisher socket).
fn finish(
    outcome: Result<(), String>,
    n: usize,
    t0: Instant,
    shared: &Shared,
    lat: &Mutex<Histogram<u64>>,
    fails: &Mutex<BTreeMap<String, u64>>,
    ok: &AtomicU64,
) {
    match outcome {
        Ok(()) => {
            ok.fetch_add(1, Ordering::Relaxed);
            report::record(&mut lat.lock().expect("not poisoned"), t0.elapsed());
        }
        Err(kind) => {
            shared.sent_at[n].store(0, Ordering::Release);
            *fails.lock().expect("not poisoned").entry(kind).or_default() += 1;
        }
    }
}

/// A signed `POST /apps/{id}/events` of event `load` carrying `body` on `channel`.
fn api_publish(target: &Target, base: &str, channel: &str, body: &str) -> reqwest::RequestBuilder {
    let app_id = target.app_id.as_deref().unwrap_or_default();
    let secret = target.secret.as_deref().unwrap_or_default();
    let payload = json!({ "name": "load", "channels": [channel], "data": json!({ "body": body }).to_string() }).to_string();
    let path = format!("/apps/{app_id}/events");
    let query = crate::sign::api_query(&target.key, secret, "POST", &path, now_micros() / 1_000_000, Some(payload.as_bytes()), &[]);
    target.http.post(format!("{base}{path}?{query}")).header("content-type", "application/json").body(payload)
}

/// A publisher socket: sends the frames it is handed (a bounded queue) and reads what the
/// channel sends it (other publishers' events), answering pings, until stopped.
fn publisher(mut ws: pusher::Ws, mut stop: watch::Receiver<bool>, tasks: &mut JoinSet<()>) -> tokio::sync::mpsc::Sender<String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                frame = rx.recv() => match frame {
                    Some(f) => if ws.send(Message::text(f)).await.is_err() { break },
                    None => break,
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) if t.contains("\"pusher:ping\"") => { let _ = pusher::pong(&mut ws).await; }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
            }
        }
        pusher::close(ws).await;
    });
    tx
}

/// Reads the thread channel until stopped, timing this run's `*.created` events.
async fn subscriber(mut ws: pusher::Ws, mut stop: watch::Receiver<bool>, shared: Arc<Shared>) {
    let mut tally =
        Tally { latency: report::histogram(), seen: vec![0; shared.sent_at.len().div_ceil(64)], frames: 0, bytes: 0, duplicates: 0 };
    let mut closed: Option<Failure> = None;
    while !*stop.borrow_and_update() {
        tokio::select! {
            _ = stop.changed() => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    tally.frames += 1;
                    tally.bytes += t.len() as u64;
                    on_text(&t, &shared, &mut tally, &mut ws).await;
                }
                Some(Ok(Message::Close(c))) => {
                    closed = Some(Failure::Closed("while subscribed", c.map(|c| u16::from(c.code))));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    closed = Some(Failure::Closed("while subscribed", None));
                    break;
                }
            }
        }
    }
    if closed.is_some() {
        shared.closed.fetch_add(1, Ordering::Relaxed);
    } else {
        pusher::close(ws).await;
    }
    let mut agg = shared.agg.lock().expect("not poisoned");
    let _ = agg.latency.add(&tally.latency);
    agg.frames += tally.frames;
    agg.bytes += tally.bytes;
    agg.duplicates += tally.duplicates;
    if let Some(f) = closed {
        *agg.closes.entry(f.kind()).or_default() += 1;
    }
}

async fn on_text(t: &str, shared: &Shared, tally: &mut Tally, ws: &mut pusher::Ws) {
    let received = now_micros();
    if !t.contains(&shared.marker) {
        if t.contains("\"pusher:ping\"") {
            let _ = pusher::pong(ws).await;
        }
        return;
    }
    // Only the outer event name matters; `data` is a JSON string and is skipped, not parsed.
    let Ok(frame) = serde_json::from_str::<pusher::Frame>(t) else { return };
    if !TIMED_EVENTS.contains(&frame.event.as_str()) {
        return;
    }
    let Some((n, micros)) = shared.parse(t) else { return };
    let (word, bit) = (n / 64, 1u64 << (n % 64));
    if tally.seen[word] & bit != 0 {
        tally.duplicates += 1;
        return;
    }
    tally.seen[word] |= bit;
    tally.latency.saturating_record(received.saturating_sub(micros).max(1));
    shared.delivered.fetch_add(1, Ordering::Relaxed);
    shared.last_at[n].fetch_max(received, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_api_publish_is_a_signed_post_of_its_own_body() {
        let plan = Plan {
            base: "http://127.0.0.1:6001".into(),
            key: "278d425bdf160c739803".into(),
            token: String::new(),
            team_id: "t".into(),
            user_id: "u".into(),
            email: String::new(),
            threads: vec!["x".into()],
            secret: Some("7ad3773142a6692b25b8".into()),
            app_id: Some("3".into()),
            twilio: None,
        };
        let target = Target::new(&plan, "127.0.0.1:6001".parse().unwrap(), 1, Duration::from_secs(1)).unwrap();
        let req = api_publish(&target, "http://127.0.0.1:6001", "presence-thread-x", "lt-a-0-5- load test").build().unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.url().path(), "/apps/3/events");
        assert_eq!(req.headers()["content-type"], "application/json");
        let body = req.body().unwrap().as_bytes().unwrap();
        let sent: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(sent["name"], "load");
        assert_eq!(sent["channels"], json!(["presence-thread-x"]));
        assert_eq!(sent["data"], json!({ "body": "lt-a-0-5- load test" }).to_string());
        let query: BTreeMap<String, String> = req.url().query_pairs().into_owned().collect();
        let timestamp: u64 = query["auth_timestamp"].parse().unwrap();
        assert_eq!(query["auth_key"], "278d425bdf160c739803");
        assert_eq!(query["auth_version"], "1.0");
        let signed = crate::sign::api_query(&plan.key, "7ad3773142a6692b25b8", "POST", "/apps/3/events", timestamp, Some(body), &[]);
        assert_eq!(req.url().query(), Some(signed.as_str()), "signed over POST, the path and this very body");
    }

    #[test]
    fn finds_the_marker_inside_an_escaped_body() {
        let shared = Shared {
            marker: "lt-abc-".into(),
            sent_at: (0..10).map(|_| AtomicU64::new(0)).collect(),
            last_at: vec![],
            delivered: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            agg: Mutex::new(Agg { latency: report::histogram(), frames: 0, bytes: 0, duplicates: 0, closes: BTreeMap::new() }),
        };
        let frame = r#"{"channel":"presence-thread-x","data":"{\"data\":{\"body\":\"lt-abc-7-1700000000123456- load test\"}}","event":"message.created"}"#;
        assert_eq!(shared.parse(frame), Some((7, 1_700_000_000_123_456)));
        assert_eq!(shared.parse(r#"lt-abc-12-5- x"#), None, "beyond the run's messages");
        assert_eq!(shared.parse(r#"lt-zzz-1-5- x"#), None, "another run");
    }
}
