#!/usr/bin/env python3
"""Benchmark: a 100,000-row CSV import of contacts as a background job, against a release build.

Starts `switchboard serve` on a fresh database, signs up a team, generates the CSV (name, phone,
email, tags, company, notes; every row valid, unique phones), uploads it to
POST /api/contacts/import (202 + job), polls GET /api/contacts/import/{job} until it ends, and
meanwhile times GET /api/me every 100 ms to show other requests are still served. Prints the
wall time (upload start to `done`), rows/s, the server's peak RSS (VmHWM) before and after, the
load average before and after, and the commit. Not part of the test suite.

Usage (see docs/benchmarks.md §8):
    cargo build --release --bin switchboard
    python3 scripts/bench_import.py --bin target/release/switchboard [--rows 100000]
"""

import argparse
import http.cookiejar
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/switchboard")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=18090)
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--on-conflict", default="skip")
    args = ap.parse_args()

    db = f"sb_bench_import_{os.getpid()}"
    subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    base = f"http://127.0.0.1:{args.port}"
    env = dict(os.environ, DATABASE_URL=f"{args.pg}/{db}", BIND=f"127.0.0.1:{args.port}", DEMO_SEED="false",
               PUSHER_KEY="benchkey", PUSHER_SECRET="benchsecret", AUTH_RATE_PER_MINUTE="100000", RUST_LOG="warn")
    log = open(f"/tmp/{db}.log", "w")
    server = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        run(args, base, server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"DROP DATABASE {db} WITH (FORCE)"])


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                yield line.split(":")[0], int(line.split()[1])


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(args, base, server):
    jar = http.cookiejar.CookieJar()
    http_ = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None, headers=None):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
        if isinstance(body, dict):
            req.add_header("Content-Type", "application/json")
        with http_.open(req, timeout=600) as res:
            return res.status, json.loads(res.read() or b"null")

    for _ in range(200):
        try:
            if call("GET", "/readyz")[0] == 200:
                break
        except Exception:
            time.sleep(0.1)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    call("POST", "/api/auth/sign-up", {"email": email, "password": "correct horse battery staple", "name": "Bench Admin", "team_name": "Bench"})

    rng = random.Random(7)
    tags = ["vip", "lead", "customer", "newsletter", "fair-2026"]
    lines = ["Name,Mobile,E-mail,Labels,Company,Notes"]
    for i in range(args.rows):
        t = ", ".join(rng.sample(tags, rng.randint(0, 3)))
        lines.append(f'Person {i},+1415{2_000_000 + i:07d},person{i}@example.com,"{t}",Company {i % 977},"Row {i}, imported by the benchmark"')
    csv = ("\n".join(lines) + "\n").encode()
    boundary = uuid.uuid4().hex
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"on_conflict\"\r\n\r\n{args.on_conflict}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() + csv + f"\r\n--{boundary}--\r\n".encode()

    before = dict(hwm_kib(server.pid))
    load_before = loadavg()
    latencies, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            t0 = time.perf_counter()
            call("GET", "/api/me")
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    t0 = time.perf_counter()
    status, job = call("POST", "/api/contacts/import", form, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    answered = time.perf_counter() - t0
    assert status == 202, (status, job)
    prober.start()
    while True:
        _, job = call("GET", f"/api/contacts/import/{job['job_id']}")
        if job["state"] != "running":
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    stop.set()
    prober.join()
    after = dict(hwm_kib(server.pid))
    latencies.sort()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({
        "commit": commit,
        "rows": args.rows,
        "file_mib": round(len(csv) / 1048576, 1),
        "on_conflict": args.on_conflict,
        "state": job["state"],
        "created": job["created"], "updated": job["updated"], "skipped": job["skipped"], "errors": job["errors_count"],
        "upload_answered_s": round(answered, 2),
        "wall_s": round(wall, 2),
        "rows_per_s": round(args.rows / wall),
        "server_rss_kib_before": before, "server_rss_kib_after": after,
        "get_me_during_job_ms": {"n": len(latencies), "p50": round(latencies[len(latencies) // 2], 1) if latencies else None,
                                  "p99": round(latencies[int(len(latencies) * 0.99)], 1) if latencies else None,
                                  "max": round(latencies[-1], 1) if latencies else None},
        "loadavg_before": load_before, "loadavg_after": loadavg(), "nproc": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    sys.exit(main())
