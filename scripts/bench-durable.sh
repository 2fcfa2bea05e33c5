#!/usr/bin/env bash
# The durable path with the load tool in Twilio's place (docs/benchmarks.md "Commands", §15–18):
# a fresh database and server, a plan with a Twilio number whose token the tool knows, then
# signed inbound webhooks posted straight to /webhooks/twilio/messages and signed status
# callbacks for messages sent through the tool's fake carrier, open loop, in steps.
#
#   scripts/bench-durable.sh target/release/switchboard after1
#   RPS=1000,1500,2000 SRPS=2000,2500 scripts/bench-durable.sh /tmp/old/switchboard before1
#
# Needs the release load tool (`cargo build --release -p switchboard-loadtest`; LOADTEST moves
# it) and the shared Postgres; the server listens on 18080, the fake carrier on 18099.
set -u
bin=$1
label=$2
loadtest=${LOADTEST:-target/release/loadtest}
out=${OUT:-/tmp/bench-durable}
mkdir -p "$out"
db=sb_load_$label
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db BIND=127.0.0.1:18080 PUSHER_KEY=loadkey PUSHER_SECRET=loadsecret \
  DEMO_SEED=false SEND_RATE_PER_SECOND=100000 AUTH_RATE_PER_MINUTE=100000 RUST_LOG=warn \
  TWILIO_API_BASE=http://127.0.0.1:18099 setsid "$bin" serve > "$out/server-$label.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; sleep 2; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/readyz > /dev/null && break; sleep 0.2; done
"$loadtest" setup --base http://127.0.0.1:18080 --threads 200 --twilio-token loadtesttoken0123456789 --out "$out/plan-$label.json" > /dev/null
echo "== $label, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null)"
"$loadtest" webhooks --direct --plan "$out/plan-$label.json" --rps "${RPS:-1000,1500,2000}" --duration 15s --server-pid $server
"$loadtest" status --plan "$out/plan-$label.json" --carrier 127.0.0.1:18099 --rps "${SRPS:-2000,2500}" --duration 10s --server-pid $server
