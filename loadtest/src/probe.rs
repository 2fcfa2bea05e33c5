//! What the tool can observe about the server from outside: its resident memory and open files
//! (from /proc, given its pid) and its live connection count (from `/metrics`).

use serde::Serialize;

/// One look at the server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// Resident set size, KiB (VmRSS).
    pub rss_kib: Option<u64>,
    /// Open file descriptors.
    pub fds: Option<u64>,
    /// WebSocket connections the server holds (gauge `switchboard_connections`).
    pub connections: Option<u64>,
    /// CPU time the server has used so far (user + system), milliseconds.
    pub cpu_ms: Option<u64>,
}

impl Sample {
    /// Server CPU milliseconds spent between `earlier` and this sample.
    pub fn cpu_since(&self, earlier: &Sample) -> Option<u64> {
        Some(self.cpu_ms?.saturating_sub(earlier.cpu_ms?))
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// VmRSS of this process, in KiB.
pub fn own_rss_kib() -> Option<u64> {
    status_kib("/proc/self/status", "VmRSS:")
}

fn status_kib(path: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime from /proc/PID/stat, in milliseconds (assuming the usual 100 clock ticks a
/// second).
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// The server's `switchboard_connections` gauge (refreshed on each scrape).
pub async fn connections(http: &reqwest::Client, base: &str) -> Option<u64> {
    let text = http.get(format!("{}/metrics", base.trim_end_matches('/'))).send().await.ok()?.text().await.ok()?;
    let line = text.lines().find(|l| l.starts_with("switchboard_connections "))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|v| v as u64)
}

/// Samples the server now.
pub async fn sample(http: &reqwest::Client, base: &str, pid: Option<u32>) -> Sample {
    Sample {
        rss_kib: pid.and_then(rss_kib),
        fds: pid.and_then(open_fds),
        connections: connections(http, base).await,
        cpu_ms: pid.and_then(cpu_ms),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(super::rss_kib(me).is_some_and(|k| k > 0));
        assert!(super::cpu_ms(me).is_some());
        assert!(super::open_fds(me).is_some_and(|n| n >= 3));
    }
}
