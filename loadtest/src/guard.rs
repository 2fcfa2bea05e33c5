//! The tool's safety rails: it only ever talks to loopback (127.0.0.0/8) addresses, every run is
//! bounded in size and time, and it refuses to open more sockets than this process may hold.

use anyhow::{Context, bail};
use reqwest::Url;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// Sockets one loadtest process opens at most. A process may hold 20,000 open files here (a hard
/// limit), and so may the server, which holds one per client: two loadtest processes of 9,000
/// fill one server to 18,000 and leave both sides headroom for HTTP and database connections.
pub const MAX_CLIENTS_PER_PROCESS: u32 = 9_000;

/// The longest any single phase (hold, duration, drain) may last.
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

/// Parses `http://127.x.y.z:port` into its socket address; anything not on 127.0.0.0/8 is
/// refused (this tool generates load, and load belongs on this machine only).
pub fn loopback_base(base: &str) -> anyhow::Result<(Url, SocketAddr)> {
    let url = Url::parse(base).with_context(|| format!("{base:?} is not a URL"))?;
    if url.scheme() != "http" {
        bail!("{base:?}: only plain http:// on a 127.x address is supported");
    }
    let host = url.host_str().unwrap_or("");
    let ip: Ipv4Addr = host.parse().with_context(|| format!("{base:?}: the host must be a literal 127.x.y.z address"))?;
    if !is_loopback(ip) {
        bail!("{base:?}: refusing to load anything but a 127.x.y.z address");
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok((url, SocketAddr::V4(SocketAddrV4::new(ip, port))))
}

/// Source addresses must be loopback too.
pub fn loopback_sources(ips: &[Ipv4Addr]) -> anyhow::Result<()> {
    if ips.is_empty() {
        bail!("--source-ips needs at least one address");
    }
    if let Some(bad) = ips.iter().find(|ip| !is_loopback(**ip)) {
        bail!("source address {bad} is not a 127.x.y.z address");
    }
    Ok(())
}

fn is_loopback(ip: Ipv4Addr) -> bool {
    ip.octets()[0] == 127
}

/// `250ms`, `30s`, `2m` or a bare number of seconds; at most an hour.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 500ms, 30s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    let d = Duration::from_secs_f64(secs);
    if d > MAX_PHASE {
        return Err(format!("{s:?} is longer than the one-hour cap"));
    }
    Ok(d)
}

/// This process's soft limit on open files, from /proc/self/limits.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Refuses a run that would need more sockets than this process may open.
pub fn check_fd_budget(sockets: usize, extra: usize) -> anyhow::Result<()> {
    if let Some(limit) = open_files_limit() {
        let need = (sockets + extra + 64) as u64;
        if need > limit {
            bail!(
                "{sockets} sockets (+{extra} HTTP connections and some slack) need ~{need} open files, but this process may hold \
                 only {limit} (ulimit -n). Run several loadtest processes with fewer clients each, on different --source-ips \
                 (see loadtest/README.md)."
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        assert!(loopback_base("http://127.0.0.1:8080").is_ok());
        assert!(loopback_base("http://127.3.2.1").is_ok());
        assert!(loopback_base("http://10.0.0.1:8080").is_err());
        assert!(loopback_base("http://localhost:8080").is_err());
        assert!(loopback_base("https://127.0.0.1").is_err());
        assert!(loopback_sources(&["127.0.0.2".parse().unwrap()]).is_ok());
        assert!(loopback_sources(&["192.168.1.1".parse().unwrap()]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("90m").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
