#!/usr/bin/env bash
# Runs every test of Switchboard: Rust unit, store and end-to-end tests, the pusher-js test in
# Node and the browser tests in Chromium. On a fresh machine it first gets what they need:
# Postgres and Redis up, Debian's chromium, the npm packages. Fails loudly on the first error.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

say "Postgres and Redis"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

say "Chromium and npm packages"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
(cd tests/browser && npm install --no-audit --no-fund --loglevel=error)
(cd tests/node && npm install --no-audit --no-fund --loglevel=error)

# sqlx::test creates a database per test from this server.
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

say "Format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

say "Rust tests"
cargo build --quiet --bin switchboard
cargo test --workspace

say "Node: pusher-js, the web app's module graph"
(cd tests/node && SWITCHBOARD_BIN="$PWD/../../target/debug/switchboard" npm test)

say "Browser tests (Chromium)"
(cd tests/browser && SWITCHBOARD_BIN="$PWD/../../target/debug/switchboard" npm test)

say "All tests passed"
