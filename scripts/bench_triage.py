#!/usr/bin/env python3
"""Benchmark: the inbox's tabs, counts and triage filters on a big team, through the real API.

Starts `switchboard serve` on a fresh database, signs up a team, then seeds it in SQL (one
statement each, fast): N contacts and their SMS threads with a mix of statuses (55% open, 10%
pending, 10% snoozed, 25% resolved), priorities (60% none … 3% urgent), a third assigned to the
admin, 20 labels and 0 to 3 labels per thread; ANALYZE. Then asks each endpoint `--repeat` times
one after another and prints p50 / p95 / max in ms: the counts (fresh, after the server's
one-second per-team cache expired, and from that cache), the Open tab (newest first and by
priority), a label filter, a priority filter, the next page by priority (keyset cursor), and
the Open tab's unread ones. Prints the load average before and after and the commit. Not part
of the test suite.

Usage (see docs/benchmarks.md §9):
    cargo build --bin switchboard          # or --release
    python3 scripts/bench_triage.py --bin target/debug/switchboard [--threads 100000]
"""

import argparse
import http.cookiejar
import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/switchboard")
    ap.add_argument("--threads", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN by hand); drop it yourself")
    args = ap.parse_args()

    if not args.port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    db = f"sb_bench_triage_{os.getpid()}"
    subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    base = f"http://127.0.0.1:{args.port}"
    env = dict(os.environ, DATABASE_URL=f"{args.pg}/{db}", BIND=f"127.0.0.1:{args.port}", DEMO_SEED="false",
               PUSHER_KEY="benchkey", PUSHER_SECRET="benchsecret", AUTH_RATE_PER_MINUTE="100000", RUST_LOG="warn")
    log = open(f"/tmp/{db}.log", "w")
    server = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        run(args, base, f"{args.pg}/{db}", server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if args.keep:
            print(f"kept database {db}")
        else:
            subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"DROP DATABASE {db} WITH (FORCE)"])


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


SEED = """
WITH c AS (
  INSERT INTO contacts (id, team_id, phone, name, source)
  SELECT gen_random_uuid(), :'team', '+1415' || lpad((3000000 + i)::text, 7, '0'), 'Person ' || i, 'bench'
  FROM generate_series(1, :n) i RETURNING id)
INSERT INTO threads (id, team_id, contact_id, channel_id, status, priority, assignee_id, last_message_at, last_preview, unread_count)
SELECT gen_random_uuid(), :'team', c.id, :'channel',
       (ARRAY['open','open','open','open','open','open','open','open','open','open','open',
              'pending','pending','snoozed','snoozed','resolved','resolved','resolved','resolved','resolved'])[1 + (random() * 19)::int],
       (ARRAY[0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,2,2,3,3,4])[1 + (random() * 19)::int],
       CASE WHEN random() < 0.33 THEN :'admin'::uuid END,
       now() - random() * interval '90 days', 'hello', (random() < 0.2)::int
FROM c;
INSERT INTO labels (id, team_id, name, color)
SELECT gen_random_uuid(), :'team', 'Label ' || i, '#2563eb' FROM generate_series(1, 20) i;
INSERT INTO thread_labels (thread_id, label_id)
SELECT t.id, l.id FROM threads t CROSS JOIN LATERAL (
  SELECT id FROM labels WHERE team_id = :'team' AND random() < 0.075 + 0 * length(t.id::text) LIMIT 3) l
WHERE t.team_id = :'team';
VACUUM ANALYZE;
"""


def run(args, base, dsn, server):
    jar = http.cookiejar.CookieJar()
    http_ = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        with http_.open(req, timeout=600) as res:
            return res.status, json.loads(res.read() or b"null")

    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: see /tmp/{dsn.rsplit('/', 1)[1]}.log")
        try:
            if call("GET", "/readyz")[0] == 200:
                break
        except Exception:
            time.sleep(0.1)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    _, me = call("POST", "/api/auth/sign-up", {"email": email, "password": "correct horse battery staple", "name": "Bench Admin", "team_name": "Bench"})
    team, admin = me["team"]["id"], me["user"]["id"]
    channel = subprocess.run(["psql", dsn, "-tAc", f"SELECT id FROM channels WHERE team_id = '{team}' AND kind = 'sms' LIMIT 1"],
                             capture_output=True, text=True)
    assert channel.returncode == 0, channel.stderr
    channel = channel.stdout.strip()
    t0 = time.perf_counter()
    subprocess.run(["psql", dsn, "-q", "-v", "ON_ERROR_STOP=1", "-v", f"team={team}", "-v", f"admin={admin}", "-v", f"channel={channel}",
                    "-v", f"n={args.threads}"], input=SEED, text=True, check=True)
    print(f"seeded {args.threads} threads in {time.perf_counter() - t0:.1f} s")
    _, labels = call("GET", "/api/labels")
    label = labels["items"][0]["id"]
    _, first = call("GET", "/api/threads?view=open&sort=priority&limit=50")
    cursor = first["next_cursor"]

    cases = [
        ("counts, fresh (cache expired)", "/api/threads/counts", 1.05),
        ("counts, from the team's cache", "/api/threads/counts"),
        ("Open tab, newest first", "/api/threads?view=open&limit=50"),
        ("Open tab, by priority", "/api/threads?view=open&sort=priority&limit=50"),
        ("Open tab, by priority, page 2", f"/api/threads?view=open&sort=priority&limit=50&cursor={cursor}"),
        ("a label", f"/api/threads?label={label}&limit=50"),
        ("priority urgent", "/api/threads?priority=urgent&limit=50"),
        ("Open tab, unread", "/api/threads?view=open&unread=true&limit=50"),
        ("Mine (Open tab)", "/api/threads?view=open&assignee=me&limit=50"),
    ]
    print(f"load average before: {loadavg()}")
    for name, path, *pause in cases:
        call("GET", path)  # warm
        times = []
        for _ in range(args.repeat if not pause else max(5, args.repeat // 3)):
            if pause:
                time.sleep(pause[0])  # past the server's one-second cache of the team's counts
            t = time.perf_counter()
            status, _ = call("GET", path)
            times.append((time.perf_counter() - t) * 1000)
            assert status == 200
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"{name:32s} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   max {times[-1]:7.1f} ms")
    print(f"load average after: {loadavg()}")
    _, counts = call("GET", "/api/threads/counts")
    print(f"counts: {counts}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}")


if __name__ == "__main__":
    main()
