//! Benchmark: how fast the scheduler dispatches a burst of messages that all fall due at once.
//!
//! It creates a fresh database, runs the whole server in-process (simulator carrier), inserts
//! BENCH_MESSAGES (10,000) scheduled messages over BENCH_THREADS (100) threads, all due at one
//! instant 15 s ahead, waits until every one was handed to the carrier, and reports from SQL how
//! late each was (`sent_at - scheduled_at`) and how long the whole burst took. The database is
//! dropped at the end.
//!
//! Run: `cargo bench --bench scheduler_dispatch` (Postgres from BENCH_DATABASE_URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; BENCH_NODES=2 runs two servers on the one
//! database, both dispatching). Without `--bench` (e.g. under
//! `cargo test --all-targets`) it does nothing.

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use sqlx::Connection;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How far ahead the burst is due: enough to insert it and for the scheduler's poll to see it.
const LEAD: Duration = Duration::from_secs(15);
/// Give up waiting after this long past the due instant.
const GIVE_UP: Duration = Duration::from_secs(600);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The URL of database `name` on the server of `url`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // `postgres://user@host:port/db`: replace the path (everything after the authority).
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("scheduler_dispatch: skipped (run it with `cargo bench --bench scheduler_dispatch`)");
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let admin_url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let messages: usize = env_or("BENCH_MESSAGES", 10_000);
    let threads: usize = env_or("BENCH_THREADS", 100);
    let pool_size: u32 = env_or("BENCH_DB_CONNECTIONS", 20);

    // A fresh database, dropped at the end whatever happens in between.
    let name = format!("sb_bench_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
    let url = with_database(&admin_url, &name);
    let result = bench(&url, messages, threads, pool_size).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut admin).await?;
    admin.close().await?;
    result
}

async fn bench(url: &str, n: usize, thread_count: usize, pool_size: u32) -> anyhow::Result<()> {
    // The server, in-process, on port 0: simulator carrier, no per-number rate limit to speak of.
    let mut config = switchboard::Config::for_tests(url);
    config.send_rate_per_second = 100_000;
    // The simulator's pause before each status callback: BENCH_SIMULATOR_DELAY_MS=60000 holds
    // the callbacks (two signed webhooks per message) until after the burst, to time the
    // dispatch path alone.
    config.simulator_delay_ms = env_or("BENCH_SIMULATOR_DELAY_MS", 200);
    config.database_max_connections = pool_size;
    if let Some(n) = std::env::var("BENCH_DISPATCH_CONCURRENCY").ok().and_then(|v| v.parse().ok()) {
        config.dispatch_concurrency = n;
    }
    // BENCH_NODES servers (default one) on the one database, each with its own scheduler and
    // simulator (whose status callbacks go to the node that sent).
    let nodes: usize = env_or("BENCH_NODES", 1).max(1);
    let shutdown = CancellationToken::new();
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let mut servers = Vec::with_capacity(nodes);
    let mut base = String::new();
    for _ in 0..nodes {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let node_base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(switchboard::run(config.clone(), listener, shutdown.clone()));
        let mut ready = false;
        for _ in 0..400 {
            if http.get(format!("{node_base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
                ready = true;
                break;
            }
            anyhow::ensure!(!server.is_finished(), "the server stopped while starting");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::ensure!(ready, "the server did not become ready");
        if base.is_empty() {
            base = node_base;
        }
        servers.push(server);
    }

    // An admin, and one contact + SMS thread per simulated customer.
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move {
            let res = req.send().await?;
            let status = res.status();
            let body: Value = res.json().await?;
            anyhow::ensure!(status.is_success(), "{status}: {body}");
            anyhow::Ok(body)
        }
    };
    let me = post(
        "/api/auth/sign-up",
        json!({ "email": "bench@bench.test", "password": "correct horse battery", "name": "Bench", "team_name": "Bench" }),
    )
    .await?;
    let team: Uuid = me["team"]["id"].as_str().unwrap_or_default().parse()?;
    let author: Uuid = me["user"]["id"].as_str().unwrap_or_default().parse()?;
    let mut thread_ids = Vec::with_capacity(thread_count);
    for i in 0..thread_count {
        let contact = post("/api/contacts", json!({ "name": format!("Customer {i}"), "phone": format!("+1415555{:04}", i) })).await?;
        let thread = post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": "sms" })).await?;
        thread_ids.push(thread["id"].as_str().unwrap_or_default().parse::<Uuid>()?);
    }

    // The burst, straight into the table (the API would take longer than the lead time): every
    // message due at the same instant. The scheduler finds them by its poll, as it would for
    // messages scheduled through another node.
    let db = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(url).await?;
    let due = OffsetDateTime::now_utc() + LEAD;
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let msg_threads: Vec<Uuid> = (0..n).map(|i| thread_ids[i % thread_count]).collect();
    let bodies: Vec<String> = (0..n).map(|i| format!("scheduled message {i}")).collect();
    let inserted = sqlx::query(
        "INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, status, scheduled_at, author_id)
         SELECT id, $1, thread_id, 'outbound', 'sms', body, 'scheduled', $2, $3
         FROM UNNEST($4::uuid[], $5::uuid[], $6::text[]) AS m(id, thread_id, body)",
    )
    .bind(team)
    .bind(due)
    .bind(author)
    .bind(&ids)
    .bind(&msg_threads)
    .bind(&bodies)
    .execute(&db)
    .await?;
    anyhow::ensure!(inserted.rows_affected() as usize == n, "inserted {} of {n}", inserted.rows_affected());
    let lead_left = due - OffsetDateTime::now_utc();
    anyhow::ensure!(lead_left > time::Duration::seconds(2), "setup took too long: only {lead_left} left before the burst");

    // Wait for the due instant, then poll until nothing is waiting any more.
    tokio::time::sleep(lead_left.try_into()?).await;
    let started = Instant::now();
    let mut all_handed_seen: Option<Duration> = None;
    loop {
        let (handed, pending): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE provider_sid IS NOT NULL),
                    count(*) FILTER (WHERE status IN ('scheduled', 'queued', 'sending'))
             FROM messages WHERE direction = 'outbound'",
        )
        .fetch_one(&db)
        .await?;
        if handed as usize == n && all_handed_seen.is_none() {
            all_handed_seen = Some(started.elapsed());
        }
        if pending == 0 {
            break;
        }
        anyhow::ensure!(started.elapsed() < GIVE_UP, "gave up: {pending} still pending after {GIVE_UP:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = started.elapsed();

    // Per-message dispatch delay, from the rows themselves.
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT (EXTRACT(EPOCH FROM (sent_at - scheduled_at)) * 1000000)::bigint,
                (EXTRACT(EPOCH FROM (claimed_at - scheduled_at)) * 1000000)::bigint
         FROM messages WHERE direction = 'outbound' AND sent_at IS NOT NULL",
    )
    .fetch_all(&db)
    .await?;
    let mut sent_delay = Histogram::<u64>::new(3)?;
    let mut claim_delay = Histogram::<u64>::new(3)?;
    for (sent, claimed) in &rows {
        sent_delay.record((*sent).max(0) as u64)?;
        if let Some(c) = claimed {
            claim_delay.record((*c).max(0) as u64)?;
        }
    }
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM messages WHERE direction = 'outbound' GROUP BY 1 ORDER BY 1").fetch_all(&db).await?;
    let failures: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(error_reason, ''), count(*) FROM messages WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
    )
    .fetch_all(&db)
    .await?;
    let (first, last): (Option<OffsetDateTime>, Option<OffsetDateTime>) =
        sqlx::query_as("SELECT min(sent_at), max(sent_at) FROM messages WHERE direction = 'outbound'").fetch_one(&db).await?;

    // Let the last delivery reports land before stopping, then stop the server.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'delivered'").fetch_one(&db).await?;
    db.close().await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), futures_util::future::join_all(servers)).await;

    let ms = |us: u64| format!("{:.1} ms", us as f64 / 1000.0);
    let all_handed = last.map(|l| l - due);
    let sent = rows.len();
    println!();
    println!("## Scheduler dispatch: {n} messages over {thread_count} threads, all due at one instant");
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!("| messages handed to the carrier (sent_at set) | {sent} / {n} |");
    println!(
        "| last handed to the carrier, after send_at (max sent_at − send_at) | {} |",
        all_handed.map(|d| format!("{:.3} s", d.as_seconds_f64())).unwrap_or_else(|| "-".into())
    );
    if let Some(seen) = all_handed_seen {
        println!("| all provider_sids seen by the poller (100 ms polls) after send_at | {:.3} s |", seen.as_secs_f64());
    }
    println!("| nothing left pending after send_at | {:.3} s |", settled.as_secs_f64());
    for (label, q) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
        println!("| dispatch delay {label} (sent_at − scheduled_at) | {} |", ms(sent_delay.value_at_quantile(q / 100.0)));
    }
    println!("| dispatch delay max | {} |", ms(sent_delay.max()));
    println!(
        "| claim delay p50 / p99 / max (claimed_at − scheduled_at) | {} / {} / {} |",
        ms(claim_delay.value_at_quantile(0.5)),
        ms(claim_delay.value_at_quantile(0.99)),
        ms(claim_delay.max())
    );
    if let (Some(all), true) = (all_handed, sent > 0) {
        println!("| throughput (messages / (last sent_at − send_at)) | {:.0} msg/s |", sent as f64 / all.as_seconds_f64().max(1e-3));
    }
    if let (Some(f), Some(l)) = (first, last) {
        println!("| first → last sent_at | {:.3} s |", (l - f).as_seconds_f64());
    }
    println!("| delivered 1 s after the last send settled | {delivered} / {n} |");
    println!("| final statuses | {} |", statuses.iter().map(|(s, c)| format!("{s}: {c}")).collect::<Vec<_>>().join(", "));
    for (reason, count) in failures {
        println!("| failed: {reason} | {count} |");
    }
    println!("| nodes (in-process servers on one database) | {nodes} |");
    println!("| Postgres pool | {} connections per node |", config.database_max_connections);
    println!("| dispatch concurrency (send slots) | {} |", config.dispatch_concurrency);
    println!("| simulator delay before each status callback | {} ms |", config.simulator_delay_ms);
    println!();
    Ok(())
}
