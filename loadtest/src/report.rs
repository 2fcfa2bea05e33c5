//! Results: latency percentiles from hdrhistogram, plain facts and failures by kind, printed as
//! markdown tables (or one JSON document with `--json`).

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A latency histogram in microseconds, from 1 µs to an hour, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// Records a duration in the histogram.
pub fn record(h: &mut Histogram<u64>, d: std::time::Duration) {
    h.saturating_record(d.as_micros().max(1) as u64);
}

/// Percentiles of one measure, in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub name: String,
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn from(name: &str, h: &Histogram<u64>) -> Latency {
        let ms = |us: u64| (us as f64 / 1000.0 * 100.0).round() / 100.0;
        let q = |p: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(p)) };
        Latency {
            name: name.to_owned(),
            count: h.len(),
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
            mean_ms: if h.is_empty() { 0.0 } else { (h.mean() / 1000.0 * 100.0).round() / 100.0 },
        }
    }
}

/// One named fact.
#[derive(Debug, Serialize)]
pub struct Fact {
    pub name: String,
    pub value: Value,
}

/// A scenario's report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub facts: Vec<Fact>,
    pub latencies: Vec<Latency>,
    /// Failure kind → count.
    pub failures: BTreeMap<String, u64>,
    /// An extra table (e.g. one row per webhook step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
}

/// Rows under named columns.
#[derive(Debug, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Report {
    pub fn new(scenario: &str) -> Report {
        Report { scenario: scenario.to_owned(), facts: vec![], latencies: vec![], failures: BTreeMap::new(), table: None }
    }

    pub fn fact(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.facts.push(Fact { name: name.to_owned(), value: value.into() });
        self
    }

    pub fn latency(&mut self, name: &str, h: &Histogram<u64>) -> &mut Self {
        self.latencies.push(Latency::from(name, h));
        self
    }

    pub fn failures(&mut self, failures: &BTreeMap<String, u64>) -> &mut Self {
        for (k, v) in failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
        self
    }

    /// Prints the report: markdown tables, or JSON.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string_pretty(self).expect("a report serializes"));
        } else {
            print!("{}", self.markdown());
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.scenario);
        let _ = writeln!(out, "| measure | value |\n|---|---|");
        for f in &self.facts {
            let _ = writeln!(out, "| {} | {} |", f.name, plain(&f.value));
        }
        if !self.latencies.is_empty() {
            let _ = writeln!(out, "\n| latency (ms) | n | p50 | p90 | p99 | p99.9 | max | mean |\n|---|---|---|---|---|---|---|---|");
            for l in &self.latencies {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    l.name, l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms
                );
            }
        }
        if let Some(t) = &self.table {
            let _ = writeln!(out, "\n| {} |", t.columns.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(t.columns.len()));
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(plain).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
        }
        let _ = writeln!(out, "\n| failures | count |\n|---|---|");
        if self.failures.is_empty() {
            let _ = writeln!(out, "| none | 0 |");
        }
        for (k, v) in &self.failures {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out.push('\n');
        out
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "n/a".to_owned(),
        other => other.to_string(),
    }
}

/// Kibibytes as a readable MiB figure.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = histogram();
        for ms in 1..=100 {
            record(&mut h, Duration::from_millis(ms));
        }
        let l = Latency::from("x", &h);
        assert_eq!(l.count, 100);
        assert!((l.p50_ms - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.max_ms - 100.0).abs() < 0.1, "{l:?}");
        let mut r = Report::new("t");
        r.fact("clients", 3).latency("x", &h);
        let md = r.markdown();
        assert!(md.contains("| clients | 3 |"));
        assert!(md.contains("| x | 100 |"));
    }
}
