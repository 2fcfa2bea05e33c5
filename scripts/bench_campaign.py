#!/usr/bin/env python3
"""Benchmark: a campaign to N contacts (100,000 by default) through the simulator with two nodes.

Starts two `switchboard serve` nodes on one fresh database (each runs a scheduler and a campaign
runner; no Redis: they share only Postgres, which is where the claims meet), signs up a team
(simulator mode), inserts N contacts tagged `bench` with SQL, creates a campaign to the tag on
node A and starts it. Meanwhile it times GET /api/threads (the inbox API) on node B every 50 ms
(first for `--before` seconds before the start: the baseline; then during the run; then `--after` seconds after it) and samples both nodes' RSS every 0.5 s (printed at each tenth of the run). When the
campaign is done it checks exactly-once in SQL (one message per sent recipient, none queued or
sending) and prints the wall time, sends/s, the p50/p99 of the inbox before and during, the
nodes' RSS, the load average and the commit. Not part of the test suite.

Usage (see docs/benchmarks.md):
    cargo build --release --bin switchboard
    python3 scripts/bench_campaign.py --bin target/release/switchboard [--contacts 100000] [--rate 1000]
"""

import argparse
import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/switchboard")
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="the campaign pace per sender, messages per second (shared by both nodes)")
    ap.add_argument("--port", type=int, default=18190)
    ap.add_argument("--keep-db", action="store_true", help="leave the database for a look afterwards")
    ap.add_argument("--before", type=float, default=10.0, help="seconds the inbox is timed before the campaign starts (its baseline)")
    ap.add_argument("--after", type=float, default=10.0, help="seconds the inbox is timed after the campaign ends")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--timeline", help="write every inbox request (seconds, phase, ms) to this CSV file")
    args = ap.parse_args()

    db = f"sb_bench_campaign_{os.getpid()}"
    url = f"{args.pg}/{db}"
    subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    nodes = []
    try:
        for i in range(2):
            port = args.port + i
            env = dict(os.environ, DATABASE_URL=url, BIND=f"127.0.0.1:{port}", DEMO_SEED="false", REDIS_URL="",
                       PUSHER_KEY="benchkey", PUSHER_SECRET="benchsecret", AUTH_RATE_PER_MINUTE="100000", RUST_LOG="warn",
                       SEND_RATE_PER_SECOND=str(int(args.rate * 2)), CAMPAIGN_RATE_LONG_CODE=str(args.rate),
                       SIMULATOR_DELAY_MS="200", DATABASE_MAX_CONNECTIONS="20")
            log = open(f"/tmp/{db}-{i}.log", "w")
            nodes.append(subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=log, start_new_session=True))
            if i == 0:
                wait_ready(f"http://127.0.0.1:{port}")  # the first node migrates alone
        run(args, url, [f"http://127.0.0.1:{args.port + i}" for i in range(2)], nodes)
    finally:
        for n in nodes:
            os.killpg(n.pid, signal.SIGTERM)
            n.wait(timeout=30)
        if args.keep_db:
            print(f"kept database {db}", file=sys.stderr)
        else:
            subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"DROP DATABASE {db} WITH (FORCE)"])


def wait_ready(base):
    for _ in range(600):
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{base} did not become ready")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """CPU seconds (user + system) a process has used so far; 0 for one that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def postgres_cpu_s():
    """CPU seconds used so far by every Postgres process on the box (the campaign's statements
    run in the pool's long-lived backends, so their deltas over the run are its Postgres cost)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            total += cpu_s(pid)
    return total


def box_busy_s():
    """CPU seconds the whole box has spent busy (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(xs, p):
    return round(sorted(xs)[min(len(xs) - 1, int(len(xs) * p))], 1) if xs else None


def tenths(xs):
    return [xs[i * len(xs) // 10:(i + 1) * len(xs) // 10] for i in range(10)] if len(xs) >= 10 else []


def psql(url, sql):
    return subprocess.run(["psql", url, "-qtAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def run(args, url, bases, nodes):
    for b in bases:
        wait_ready(b)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(base, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with opener.open(req, timeout=600) as res:
            return res.status, json.loads(res.read() or b"null")

    a, b = bases
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    _, me = call(a, "POST", "/api/auth/sign-up", {"email": email, "password": "correct horse battery staple", "name": "Bench Admin", "team_name": "Bench"})
    team = me["team"]["id"]
    # Some ordinary conversations, so the inbox has rows to list.
    for i in range(50):
        call(a, "POST", "/api/simulator/inbound", {"from": f"+1415300{i:04d}", "channel": "sms", "body": f"hello {i}"})
    psql(url, "INSERT INTO contacts (id, team_id, phone, name, first_name, tags) "
              f"SELECT gen_random_uuid(), '{team}', '+1415' || lpad((2000000 + i)::text, 7, '0'), 'Person ' || i, 'Person' || i, "
              f"ARRAY['bench'] FROM generate_series(1, {args.contacts}) AS i")
    _, numbers = call(a, "GET", "/api/numbers")
    sms = next(n for n in numbers["numbers"] if n["kind"] == "sms")

    latencies = {"before": [], "during": [], "after": []}
    timeline = []  # (seconds since the probe started, phase, ms): for --timeline
    started = time.perf_counter()
    after_at = []
    phase = {"name": "before"}
    rss = {0: [], 1: []}
    stop = threading.Event()

    errors = {"before": 0, "during": 0, "after": 0}

    def probe():
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                call(b, "GET", "/api/threads?limit=50")
            except urllib.error.HTTPError as e:
                # A shed request (503 while the box is saturated) is counted, not timed.
                errors[phase["name"]] += 1
                print(f"inbox request failed: {e.code}", file=sys.stderr)
                time.sleep(0.05)
                continue
            took = (time.perf_counter() - t0) * 1000
            latencies[phase["name"]].append(took)
            timeline.append((round(time.perf_counter() - started, 2), phase["name"], round(took, 1)))
            if phase["name"] == "after":
                after_at.append((time.perf_counter() - phase["after_t0"], took))
            time.sleep(0.05)

    def sample():
        while not stop.is_set():
            for i, n in enumerate(nodes):
                rss[i].append((time.perf_counter(), rss_kib(n.pid)))
            time.sleep(0.5)

    threads = [threading.Thread(target=probe, daemon=True), threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(args.before)
    rss_before = [rss_kib(n.pid) for n in nodes]
    load_before = loadavg()
    _, c = call(a, "POST", "/api/campaigns", {"name": "Bench", "channel_id": sms["id"], "body": "Hi {{contact.first_name}}, bench",
                                               "audience": {"tag": "bench"}})
    phase["name"] = "during"
    cpu0 = ([cpu_s(n.pid) for n in nodes], postgres_cpu_s(), box_busy_s())
    t0 = time.perf_counter()
    call(a, "POST", f"/api/campaigns/{c['id']}/start", {})
    while True:
        try:
            _, c = call(a, "GET", f"/api/campaigns/{c['id']}")
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
            time.sleep(1)  # shed while the box is saturated: ask again
            continue
        if c["status"] != "running":
            break
        time.sleep(1)
    wall = time.perf_counter() - t0
    cpu1 = ([cpu_s(n.pid) for n in nodes], postgres_cpu_s(), box_busy_s())
    # The inbox once the campaign is done: what the data it left costs, apart from its work.
    phase["after_t0"] = time.perf_counter()
    phase["name"] = "after"
    time.sleep(args.after)
    stop.set()
    for t in threads:
        t.join()
    if args.timeline:
        with open(args.timeline, "w") as f:
            f.write("at_s,phase,ms\n")
            f.writelines(f"{at},{ph},{ms}\n" for at, ph, ms in timeline)
    k = c["counts"]
    messages = int(psql(url, f"SELECT count(*) FROM messages WHERE campaign_id = '{c['id']}'"))
    twice = int(psql(url, f"SELECT count(*) FROM (SELECT thread_id FROM messages WHERE campaign_id = '{c['id']}' GROUP BY 1 HAVING count(*) > 1) x"))
    left = int(psql(url, f"SELECT count(*) FROM campaign_recipients WHERE campaign_id = '{c['id']}' AND status IN ('queued', 'sending')"))
    def curve(samples):
        # RSS (MiB) at each tenth of the run: the shape over time, not only the maximum.
        during = [(t, k) for t, k in samples if t >= t0]
        return [round(min(during, key=lambda s: abs(s[0] - (t0 + wall * f / 10)))[1] / 1024, 1) for f in range(11)] if during else []

    by_node = {i: {"rss_kib_before": rss_before[i], "rss_kib_max_during": max(k for _, k in rss[i]), "rss_kib_end": rss[i][-1][1],
                   "rss_mib_each_tenth": curve(rss[i])} for i in range(2)}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({
        "commit": commit, "contacts": args.contacts, "pace_per_s": args.rate, "status": c["status"], "counts": k,
        "wall_s": round(wall, 1), "sends_per_s": round((k["sent"] + k["failed"]) / wall, 1),
        "exactly_once": {"messages": messages, "threads_with_two": twice, "left_queued_or_sending": left},
        "nodes": by_node,
        # What one recipient cost, in CPU milliseconds: both nodes (the simulator's callbacks
        # included: they are posted and handled in the nodes), Postgres, and the whole box (the
        # inbox probe and everything else on it too).
        "cpu_ms_per_recipient": {
            "nodes": round((sum(cpu1[0]) - sum(cpu0[0])) * 1000 / max(1, k["total"]), 3),
            "postgres": round((cpu1[1] - cpu0[1]) * 1000 / max(1, k["total"]), 3),
            "box": round((cpu1[2] - cpu0[2]) * 1000 / max(1, k["total"]), 3),
        },
        "box_cpu_busy_share": round((cpu1[2] - cpu0[2]) / wall / (os.cpu_count() or 1), 3),
        "inbox_api_ms": {ph: {"n": len(xs), "errors": errors[ph], "p50": pct(xs, 0.5), "p99": pct(xs, 0.99), "max": pct(xs, 1.0)}
                         for ph, xs in latencies.items()},
        # The inbox's p50 / p99 in each tenth of the campaign: does it grow as the campaign goes on?
        "inbox_during_each_tenth": [(pct(part, 0.5), pct(part, 0.99)) for part in tenths(latencies["during"])],
        # The inbox's p50 in each 5 s after the end: does it come back, and when?
        "inbox_after_p50_per_5s": [pct([ms for at, ms in after_at if b * 5 <= at < b * 5 + 5], 0.5) for b in range(int(args.after // 5))],
        "loadavg_before": load_before, "loadavg_after": loadavg(), "nproc": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    sys.exit(main())
