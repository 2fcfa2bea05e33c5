#!/usr/bin/env python3
"""The side-by-side table of scripts/bench-peer.sh: medians over the rounds of each server's
load-tool reports (JSON), and the ratio Switchboard / Sockudo.

Usage: bench_peer_table.py OUT_DIR ROUNDS "RATES" SUBSCRIBERS CLIENTS [HTTP_RATE]
(HTTP_RATE: the Sockudo-only fan-out published through the Pusher HTTP API, if it ran.)
"""
import json
import statistics
import sys
from pathlib import Path


def facts(report):
    return {f["name"]: f["value"] for f in report.get("facts", [])}


def latency(report, prefix):
    for row in report.get("latencies", []):
        if row["name"].startswith(prefix):
            return row
    return None


def seconds(value):
    """'1.23 s' -> 1.23"""
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load(out, name, rounds):
    reports = []
    for r in range(1, rounds + 1):
        path = out / f"{name}-{r}.json"
        if path.exists():
            reports.append(json.loads(path.read_text()))
    return reports


def main():
    out, rounds, rates, subscribers, clients = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5]
    http_rate = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
    rows = []

    def row(what, sb, peer, lower_is_better=True, unit=""):
        ratio = f"{sb / peer:.2f}" if sb is not None and peer not in (None, 0) else "?"
        fmt = lambda v: "?" if v is None else f"{v:,.1f}{unit}"
        rows.append(f"| {what} | {fmt(sb)} | {fmt(peer)} | {ratio} ({'lower' if lower_is_better else 'higher'} is better) |")

    conn = {s: load(out, f"{s}-connections", rounds) for s in ("switchboard", "sockudo")}
    per_client = {s: median([facts(r).get("server KiB per connected client (RSS growth / clients)") for r in conn[s]]) for s in conn}
    row(f"server KiB per idle client ({clients} clients, 2 channels each)", per_client["switchboard"], per_client["sockudo"], unit=" KiB")
    ramp = {s: median([facts(r).get("ramp rate (clients/s)") for r in conn[s]]) for s in conn}
    row("ramp rate (clients/s)", ramp["switchboard"], ramp["sockudo"], lower_is_better=False)
    for rate in rates:
        fan = {s: load(out, f"{s}-fanout-{rate}", rounds) for s in ("switchboard", "sockudo")}
        offered = int(rate) * int(subscribers)
        share = {}
        for s, reports in fan.items():
            vals = []
            for r in reports:
                f = facts(r)
                exp = f.get("deliveries expected (posted × subscribers)") or 0
                vals.append(100.0 * f.get("delivered", 0) / exp if exp else None)
            share[s] = median(vals)
        row(f"{offered:,} offered deliveries/s: delivered", share["switchboard"], share["sockudo"], lower_is_better=False, unit=" %")
        p99 = {s: median([(latency(r, "POST → subscriber receipt") or {}).get("p99_ms") for r in fan[s]]) for s in fan}
        row(f"{offered:,}/s: p99 publish → receipt", p99["switchboard"], p99["sockudo"], unit=" ms")
        cpu = {}
        for s, reports in fan.items():
            vals = []
            for r in reports:
                f = facts(r)
                c, d = seconds(f.get("server CPU while sending")), f.get("delivered") or 0
                vals.append(c * 1e6 / d if c is not None and d else None)
            cpu[s] = median(vals)
        row(f"{offered:,}/s: server CPU µs per delivery", cpu["switchboard"], cpu["sockudo"], unit=" µs")

    if http_rate:
        reports = load(out, f"sockudo-fanout-http-{http_rate}", rounds)
        offered = int(http_rate) * int(subscribers)
        vals = []
        for r in reports:
            f = facts(r)
            exp = f.get("deliveries expected (posted × subscribers)") or 0
            vals.append(100.0 * f.get("delivered", 0) / exp if exp else None)
        row(f"{offered:,}/s by the HTTP API (Sockudo only): delivered", None, median(vals), lower_is_better=False, unit=" %")
        p99 = median([(latency(r, "POST → subscriber receipt") or {}).get("p99_ms") for r in reports])
        row(f"{offered:,}/s by the HTTP API (Sockudo only): p99 publish → receipt", None, p99, unit=" ms")

    print("| measure | Switchboard | Sockudo | ratio |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
