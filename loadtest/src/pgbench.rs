//! The Postgres baseline (`loadtest pgbench`, or `--pgbench URL` on the webhook scenarios): what
//! the box's Postgres can commit, so every webhook figure can be read as a share of it. `pgbench`
//! runs 16 clients of one-row INSERT transactions, each its own durable commit, on a scratch
//! database created for the run and dropped after it, under the server's own `fsync` and
//! `synchronous_commit` (read and printed, never changed). Needs `psql` and `pgbench` (Debian:
//! postgresql-client, postgresql-contrib).

use crate::guard;
use crate::report::Report;
use anyhow::{Context, bail};
use clap::Args;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Clients of the baseline: as many as the server's pool of database connections by default.
pub const CLIENTS: u32 = 16;

/// The transaction each client repeats: one row, one commit.
const SCRIPT: &str = "\\set v random(1, 1000000000)\nINSERT INTO lt_pgbench (v) VALUES (:v);\n";

#[derive(Args, Debug)]
pub struct PgbenchArgs {
    /// The Postgres to measure (127.x only); a scratch database is created beside the one named.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub database_url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = CLIENTS, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub clients: u32,
    /// How long pgbench runs.
    #[arg(long, default_value = "20s", value_parser = guard::parse_duration)]
    pub duration: Duration,
}

/// What pgbench measured.
#[derive(Debug)]
pub struct Baseline {
    pub clients: u32,
    pub seconds: u64,
    pub transactions: u64,
    pub tps: f64,
    pub latency_ms: Option<f64>,
    pub fsync: String,
    pub synchronous_commit: String,
    pub wal_sync_method: String,
    pub version: String,
}

impl Baseline {
    pub fn facts(&self, r: &mut Report) {
        r.fact("pgbench baseline (tps)", (self.tps * 10.0).round() / 10.0)
            .fact(
                "pgbench run",
                format!(
                    "{} clients × {} s of one-row INSERT commits: {} transactions, mean latency {} ms",
                    self.clients,
                    self.seconds,
                    self.transactions,
                    self.latency_ms.map_or("?".into(), |l| l.to_string())
                ),
            )
            .fact(
                "Postgres durability",
                format!("fsync={}, synchronous_commit={}, wal_sync_method={}", self.fsync, self.synchronous_commit, self.wal_sync_method),
            )
            .fact("Postgres", self.version.clone());
    }
}

pub async fn command(args: PgbenchArgs) -> anyhow::Result<Report> {
    let b = run(&args.database_url, args.clients, args.duration).await?;
    let mut r = Report::new("pgbench");
    b.facts(&mut r);
    Ok(r)
}

/// Runs the baseline on a scratch database next to `url`'s.
pub async fn run(url: &str, clients: u32, duration: Duration) -> anyhow::Result<Baseline> {
    let admin = loopback_db(url)?;
    let seconds = duration.as_secs().max(1);
    tokio::task::spawn_blocking(move || run_blocking(admin, clients, seconds)).await.context("pgbench task")?
}

/// The URL, checked to be a 127.x Postgres.
fn loopback_db(url: &str) -> anyhow::Result<reqwest::Url> {
    let u = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a database URL"))?;
    if !matches!(u.scheme(), "postgres" | "postgresql") {
        bail!("{url:?}: not a postgres:// URL");
    }
    let ip: std::net::Ipv4Addr =
        u.host_str().unwrap_or("").parse().with_context(|| format!("{url:?}: the host must be a literal 127.x.y.z address"))?;
    if ip.octets()[0] != 127 {
        bail!("{url:?}: refusing to load anything but a 127.x.y.z Postgres");
    }
    Ok(u)
}

fn with_db(url: &reqwest::Url, db: &str) -> String {
    let mut u = url.clone();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("cannot run psql (Debian: postgresql-client)")?;
    if !out.status.success() {
        bail!("psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn run_blocking(admin: reqwest::Url, clients: u32, seconds: u64) -> anyhow::Result<Baseline> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let db = format!("lt_pgbench_{}_{stamp}", std::process::id());
    let admin_url = admin.to_string();
    psql(&admin_url, &format!("CREATE DATABASE {db}"))?;
    let result = measure(&with_db(&admin, &db), clients, seconds);
    let dropped = psql(&admin_url, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    let b = result?;
    dropped?;
    Ok(b)
}

fn measure(url: &str, clients: u32, seconds: u64) -> anyhow::Result<Baseline> {
    psql(url, "CREATE TABLE lt_pgbench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), v bigint NOT NULL)")?;
    let show = |name: &str| psql(url, &format!("SHOW {name}"));
    let (fsync, synchronous_commit, wal_sync_method) = (show("fsync")?, show("synchronous_commit")?, show("wal_sync_method")?);
    let version = psql(url, "SELECT split_part(version(), ' on ', 1)")?;
    let script = std::env::temp_dir().join(format!("lt_pgbench_{}.sql", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get() as u32).min(clients);
    let out = Command::new("pgbench")
        .args(["-n", "-c", &clients.to_string(), "-j", &jobs.to_string(), "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .context("cannot run pgbench (Debian: postgresql-contrib)");
    let _ = std::fs::remove_file(&script);
    let out = out?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("pgbench failed: {} {}", text.trim(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let (transactions, tps, latency_ms) = parse(&text).with_context(|| format!("pgbench said: {text}"))?;
    Ok(Baseline { clients, seconds, transactions, tps, latency_ms, fsync, synchronous_commit, wal_sync_method, version })
}

/// Transactions, tps and mean latency from pgbench's summary.
fn parse(text: &str) -> Option<(u64, f64, Option<f64>)> {
    let number = |line: &str| line.split_whitespace().find_map(|w| w.parse::<f64>().ok());
    let transactions = text
        .lines()
        .find(|l| l.starts_with("number of transactions actually processed"))
        .and_then(|l| l.split(':').nth(1)?.split_whitespace().next()?.split('/').next()?.parse().ok())?;
    let tps = text.lines().find(|l| l.starts_with("tps =")).and_then(number)?;
    let latency = text.lines().find(|l| l.starts_with("latency average")).and_then(|l| l.split('=').nth(1)).and_then(number);
    Some((transactions, tps, latency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_16_summary() {
        let text = "transaction type: /tmp/x.sql\nscaling factor: 1\nquery mode: simple\nnumber of clients: 16\n\
                    number of threads: 2\nmaximum number of tries: 1\nduration: 20 s\n\
                    number of transactions actually processed: 41234\nnumber of failed transactions: 0 (0.000%)\n\
                    latency average = 7.760 ms\ninitial connection time = 21.5 ms\n\
                    tps = 2061.918273 (without initial connection time)\n";
        assert_eq!(parse(text), Some((41234, 2061.918273, Some(7.76))));
        assert_eq!(parse("nothing"), None);
    }

    #[test]
    fn only_a_loopback_postgres() {
        assert!(loopback_db("postgres://postgres@127.0.0.1:5432/postgres").is_ok());
        assert!(loopback_db("postgres://postgres@10.1.1.1:5432/postgres").is_err());
        assert!(loopback_db("postgres://postgres@localhost/postgres").is_err());
        assert!(loopback_db("http://127.0.0.1/").is_err());
        let u = loopback_db("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable").unwrap();
        assert_eq!(with_db(&u, "lt_x"), "postgres://postgres@127.0.0.1:5432/lt_x?sslmode=disable");
    }
}
