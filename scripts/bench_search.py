#!/usr/bin/env python3
"""Benchmark: full-text search over 1,000,000 messages in one team (issue 13, item 4).

Starts `switchboard serve` on a scratch database (created here, dropped at the end: never the
shared one's data), signs up a team, then loads with set-based SQL (generate_series, no row by
row inserts): CONTACTS contacts with one SMS thread each, MESSAGES messages spread over the last
year (bodies of 6 to 15 words drawn from a vocabulary of everyday SMS words with a skewed
frequency, one in ten with an order number), and NOTES notes (a fifth of them private). The GIN
and trigram indexes are dropped for the load and built again after it, as a restore would; then
VACUUM ANALYZE. It then times GET /api/search?q= (the first page, 20 hits) over a set of
realistic terms (common and rare words, prefixes as typed, two-word queries, a name, phone
fragments, a word that matches nothing), each REPS times round robin, and prints p50/p95/p99/max
per term and overall, the load average and the commit. `--threads-search` also times the inbox's
GET /api/threads?search=. Not part of the test suite.

Usage (see docs/benchmarks.md §10):
    cargo build --release --bin switchboard
    python3 scripts/bench_search.py --bin target/release/switchboard [--messages 1000000] [--reps 20]
"""

import argparse
import http.cookiejar
import json
import os
import signal
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

WORDS = """thanks thank you ok okay yes no please hi hello hey sure great good morning tomorrow today
tonight order delivery delivered parcel package tracking refund return exchange invoice payment paid
card receipt price discount coupon code appointment booking reschedule cancel confirm confirmed
address street door store pickup ready late early sorry problem issue broken damaged wrong missing
size color colour item items shipping shipped week weekend monday tuesday wednesday thursday friday
saturday sunday call me back later when where what how why can could would will the a an to for of
in on at with my your our is are was be have has do did not just still also again soon now asap
help support question answer account password login email phone number address hours open closed
gracias hola merci bonjour danke obrigado ciao""".split()

TERMS = ["refund", "parcel", "thanks", "tomorrow", "delivery tomorrow", "order 48213", "refu",
         "deliv", "reschedule appointment", "damaged parcel", "carol", "555 012", "0123",
         "bonjour", "xylophone"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/switchboard")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--contacts", type=int, default=20_000)
    ap.add_argument("--notes", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--port", type=int, default=18091)
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--reuse", help="a database kept by --keep: skip the sign-up and the load")
    ap.add_argument("--threads-search", action="store_true", help="also time GET /api/threads?search=")
    args = ap.parse_args()

    db = args.reuse or f"sb_bench_search_{os.getpid()}"
    if not args.reuse:
        subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    base = f"http://127.0.0.1:{args.port}"
    env = dict(os.environ, DATABASE_URL=f"{args.pg}/{db}", BIND=f"127.0.0.1:{args.port}", DEMO_SEED="false",
               PUSHER_KEY="benchkey", PUSHER_SECRET="benchsecret", AUTH_RATE_PER_MINUTE="100000", RUST_LOG="warn")
    log = open(f"/tmp/{db}.log", "w")
    server = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        run(args, base, f"{args.pg}/{db}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        if not (args.keep or args.reuse):
            subprocess.run(["psql", f"{args.pg}/postgres", "-qc", f"DROP DATABASE {db} WITH (FORCE)"])


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def load(args, url, team, user):
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    t0 = time.time()
    psql(url, f"""
      DROP INDEX messages_search_idx; DROP INDEX notes_search_idx;
      DROP INDEX contacts_name_trgm_idx; DROP INDEX contacts_phone_trgm_idx; DROP INDEX contacts_email_trgm_idx;
      INSERT INTO contacts (id, team_id, phone, name, email)
      SELECT gen_random_uuid(), '{team}', '+1415' || lpad(g::text, 7, '0'),
             (ARRAY['Carol','Dave','Erin','Frank','Grace','Heidi','Ivan','Judy','Mallory','Oscar'])[1 + g % 10] || ' ' || 'Customer' || g,
             CASE WHEN g % 3 = 0 THEN 'c' || g || '@example.com' END
        FROM generate_series(1, {args.contacts}) g;
      INSERT INTO threads (id, team_id, contact_id, channel_id)
      SELECT gen_random_uuid(), c.team_id, c.id, (SELECT id FROM channels WHERE team_id = '{team}' AND kind = 'sms' LIMIT 1)
        FROM contacts c WHERE c.team_id = '{team}';
      CREATE TEMP TABLE t AS SELECT row_number() OVER () AS n, id FROM threads WHERE team_id = '{team}';
      CREATE INDEX ON t (n);
    """ + f"""
      INSERT INTO messages (id, team_id, thread_id, direction, channel_kind, body, status, author_id, created_at)
      SELECT gen_random_uuid(), '{team}', t.id,
             CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'sms',
             array_to_string(ARRAY(SELECT ({words})[1 + floor(power(random(), 2.2) * {len(WORDS)})::int]
                                     FROM generate_series(1, 6 + (g % 10)) w WHERE w > 0 * g), ' ')
               || CASE WHEN g % 10 = 0 THEN ' order ' || (10000 + floor(random() * 90000)::int + 0 * g) ELSE '' END,
             CASE WHEN g % 2 = 0 THEN 'received' ELSE 'delivered' END,
             CASE WHEN g % 2 = 0 THEN NULL ELSE '{user}'::uuid END,
             now() - make_interval(secs => (g * 31.536)::double precision)
        FROM generate_series(1, {args.messages}) g JOIN t ON t.n = 1 + g % {args.contacts};
      INSERT INTO notes (id, team_id, thread_id, author_id, body, visibility, created_at)
      SELECT gen_random_uuid(), '{team}', t.id, '{user}',
             array_to_string(ARRAY(SELECT ({words})[1 + floor(power(random(), 2.2) * {len(WORDS)})::int]
                                     FROM generate_series(1, 8) w WHERE w > 0 * g), ' '),
             CASE WHEN g % 5 = 0 THEN 'private' ELSE 'public' END,
             now() - make_interval(secs => (g * 600)::double precision)
        FROM generate_series(1, {args.notes}) g JOIN t ON t.n = 1 + g % {args.contacts};
      UPDATE threads th SET last_message_at = m.last FROM (SELECT thread_id, max(created_at) AS last FROM messages GROUP BY thread_id) m
       WHERE m.thread_id = th.id;
    """)
    loaded = time.time() - t0
    t0 = time.time()
    psql(url, """
      CREATE INDEX messages_search_idx ON messages USING gin (search_tsv);
      CREATE INDEX notes_search_idx ON notes USING gin (search_tsv);
      CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (name gin_trgm_ops);
      CREATE INDEX contacts_phone_trgm_idx ON contacts USING gin (phone gin_trgm_ops);
      CREATE INDEX contacts_email_trgm_idx ON contacts USING gin (email gin_trgm_ops);
    """)
    indexed = time.time() - t0
    psql(url, "VACUUM ANALYZE")
    count = psql(url, f"SELECT count(*) FROM messages WHERE team_id = '{team}'")
    size = psql(url, "SELECT pg_size_pretty(pg_relation_size('messages_search_idx'))")
    print(f"loaded {count} messages in {loaded:.0f} s, indexes built in {indexed:.0f} s (GIN {size})", flush=True)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(args, base, url):
    jar = http.cookiejar.CookieJar()
    http_ = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with http_.open(req, timeout=600) as res:
            return res.status, json.loads(res.read() or b"null")

    for _ in range(200):
        try:
            if call("GET", "/readyz")[0] == 200:
                break
        except Exception:
            time.sleep(0.25)
    if args.reuse:
        call("POST", "/api/auth/sign-in", {"email": "bench@example.com", "password": "violet-harbour-lantern-7"})
    else:
        _, up = call("POST", "/api/auth/sign-up", {"email": "bench@example.com", "password": "violet-harbour-lantern-7",
                                                    "name": "Bench Admin", "team_name": "Bench"})
        load(args, url, up["team"]["id"], up["user"]["id"])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}, load average before: {loadavg()}")

    def time_path(fmt):
        per, hits = {}, {}
        for term in TERMS:
            call("GET", fmt.format(urllib.parse.quote(term)))  # warm: plans, caches
        for _ in range(args.reps):
            for term in TERMS:
                t0 = time.perf_counter()
                _, page = call("GET", fmt.format(urllib.parse.quote(term)))
                per.setdefault(term, []).append((time.perf_counter() - t0) * 1000)
                hits[term] = len(page["items"])
        all_ms = [x for xs in per.values() for x in xs]
        for term in TERMS:
            xs = per[term]
            print(f"  {term!r:26} hits {hits[term]:3}  p50 {pct(xs, 50):7.1f} ms  p95 {pct(xs, 95):7.1f} ms  max {max(xs):7.1f} ms")
        print(f"  overall ({len(all_ms)} requests): p50 {statistics.median(all_ms):.1f} ms, p95 {pct(all_ms, 95):.1f} ms, "
              f"p99 {pct(all_ms, 99):.1f} ms, max {max(all_ms):.1f} ms")

    print("GET /api/search?q=TERM (first page, 20 hits):")
    time_path("/api/search?q={}")
    if args.threads_search:
        print("GET /api/threads?search=TERM (first page, 50 threads):")
        time_path("/api/threads?search={}")
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
