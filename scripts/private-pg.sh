#!/usr/bin/env bash
# A private Postgres with the stock settings, for benchmarks: this machine's shared instance runs
# with `autovacuum = off`, so a long run there measures the dead rows it piles up (nothing ever
# vacuums or analyzes them) as much as the server. This one keeps Postgres' defaults (autovacuum
# on) with the shared instance's memory (shared_buffers 128MB), on its own port and data dir.
#
#   scripts/private-pg.sh start    # prints the URL: postgres://postgres@127.0.0.1:5434
#   python3 scripts/bench_campaign.py --pg postgres://postgres@127.0.0.1:5434 …
#   scripts/private-pg.sh stop     # stops it and removes its data
#
# PRIVATE_PG_PORT (5434) and PRIVATE_PG_DIR (/tmp/switchboard-private-pg) move it; PRIVATE_PG_OPTS
# adds settings, e.g. "-c shared_preload_libraries=pg_stat_statements" to see what each statement costs.
set -euo pipefail
port=${PRIVATE_PG_PORT:-5434}
dir=${PRIVATE_PG_DIR:-/tmp/switchboard-private-pg}
bin=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -n1)/bin
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }

case "${1:-}" in
  start)
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres "$dir"
      as_postgres "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 > '$dir/initdb.log'"
    fi
    as_postgres "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c shared_buffers=128MB ${PRIVATE_PG_OPTS:-}\" start" >&2
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    [ -d "$dir/data" ] && as_postgres "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
