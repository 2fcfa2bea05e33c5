#!/usr/bin/env bash
# Switchboard side by side with Sockudo (a Pusher-protocol server in Rust) on this machine: the
# same load tool, the same scenarios, alternating rounds, one server running at a time.
#
#   scripts/bench-peer.sh            # 3 rounds; writes a table into docs/benchmarks.md
#   ROUNDS=1 CLIENTS=2000 scripts/bench-peer.sh
#
# It installs Sockudo from crates.io into target/peer (cmake and protobuf-compiler from Debian
# first), builds Switchboard and the load tool in release mode, and for each round and server:
#   1. connections: CLIENTS idle clients, each on the team presence channel and a thread channel,
#      held 20 s: server RSS per client and the ramp;
#   2. fanout: SUBSCRIBERS on one thread channel, client events at 40 and 80 messages/s (80k and
#      160k offered deliveries/s with 2,000 subscribers): delivered share, latency, server CPU;
#   3. Sockudo only (Switchboard has no HTTP publishing API): the same fan-out published through the
#      Pusher HTTP API (`POST /apps/{id}/events`, signed by the load tool) at HTTP_RATE messages/s
#      (HTTP_RATE= skips it).
# Channel auth is signed by the load tool with the app secret for both servers (loadtest
# peer-setup), so neither server's HTTP auth is measured. The medians of the rounds, their ratio
# (Switchboard / Sockudo), the load average and the commit go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-5000}
SUBSCRIBERS=${SUBSCRIBERS:-2000}
RATES=${RATES:-"40 80"}
HTTP_RATE=${HTTP_RATE-40}
PEER_DIR=${PEER_DIR:-$PWD/target/peer}
OUT=${OUT:-$PWD/target/bench-peer}
KEY=benchkey SECRET=benchsecret APP=bench
SB_PORT=18081 PEER_PORT=16001
DB=sb_bench_peer

say() { printf '\n==> %s\n' "$*" >&2; }

say "tools"
if ! command -v cmake >/dev/null || ! command -v protoc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake protobuf-compiler >/dev/null
fi
if [ ! -x "$PEER_DIR/bin/sockudo" ]; then
  cargo install sockudo --root "$PEER_DIR" --no-default-features --features local
fi
cargo build --release --quiet --bin switchboard
cargo build --release --quiet -p switchboard-loadtest --bin loadtest
LT=$PWD/target/release/loadtest
mkdir -p "$OUT"

PID=
start() { # start <switchboard|sockudo>
  case $1 in
    switchboard)
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
      DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB BIND=127.0.0.1:$SB_PORT PUSHER_KEY=$KEY PUSHER_SECRET=$SECRET \
        DEMO_SEED=false MAX_CONNECTIONS_PER_IP=0 RUST_LOG=warn ./target/release/switchboard serve >"$OUT/switchboard.log" 2>&1 &
      PID=$! PORT=$SB_PORT ;;
    sockudo)
      HOST=127.0.0.1 PORT=$PEER_PORT SOCKUDO_DEFAULT_APP_ID=$APP SOCKUDO_DEFAULT_APP_KEY=$KEY SOCKUDO_DEFAULT_APP_SECRET=$SECRET \
        SOCKUDO_ENABLE_CLIENT_MESSAGES=true METRICS_ENABLED=false RATE_LIMITER_ENABLED=false \
        "$PEER_DIR/bin/sockudo" >"$OUT/sockudo.log" 2>&1 &
      PID=$! PORT=$PEER_PORT ;;
  esac
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then sleep 1; return 0; fi
    sleep 0.2
  done
  echo "$1 did not start: see $OUT/$1.log" >&2
  exit 1
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap stop EXIT

for round in $(seq 1 "$ROUNDS"); do
  for server in switchboard sockudo; do
    say "round $round: $server"
    start $server
    "$LT" peer-setup --base "http://127.0.0.1:$PORT" --app-id $APP --key $KEY --secret $SECRET --threads 50 --out "$OUT/plan.json" >/dev/null
    "$LT" --json connections --plan "$OUT/plan.json" --clients "$CLIENTS" --hold 20s --source-ips 127.0.0.2,127.0.0.3 \
      --server-pid "$PID" >"$OUT/$server-connections-$round.json"
    for rate in $RATES; do
      "$LT" --json fanout --plan "$OUT/plan.json" --kind client-event --publishers $(( rate / 8 + 1 )) --subscribers "$SUBSCRIBERS" \
        --messages $(( rate * 10 )) --rate "$rate" --source-ips 127.0.0.2,127.0.0.3 --server-pid "$PID" \
        >"$OUT/$server-fanout-$rate-$round.json"
    done
    if [ "$server" = sockudo ] && [ -n "$HTTP_RATE" ]; then
      "$LT" --json fanout --plan "$OUT/plan.json" --kind http-api --subscribers "$SUBSCRIBERS" --messages $(( HTTP_RATE * 10 )) \
        --rate "$HTTP_RATE" --source-ips 127.0.0.2,127.0.0.3 --server-pid "$PID" >"$OUT/$server-fanout-http-$HTTP_RATE-$round.json"
    fi
    stop
  done
done
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null

say "summary"
python3 scripts/bench_peer_table.py "$OUT" "$ROUNDS" "$RATES" "$SUBSCRIBERS" "$CLIENTS" "$HTTP_RATE" | tee "$OUT/table.md"
{
  printf '\n## Side by side with Sockudo (scripts/bench-peer.sh, %s)\n\n' "$(date -u +%Y-%m-%d)"
  printf 'Commit %s; Sockudo %s; load average before the run: %s. Medians of %s alternating rounds.\n\n' \
    "$(git rev-parse --short HEAD)" "$("$PEER_DIR/bin/sockudo" --version 2>/dev/null | head -n1 || echo '?')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$ROUNDS"
  cat "$OUT/table.md"
} >>docs/benchmarks.md
say "appended to docs/benchmarks.md"
