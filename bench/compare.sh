#!/usr/bin/env bash
# Throughline against PostgreSQL 15 as an event store, same workloads, same
# machine, one run (bench/README.md). On a fresh Debian 12 machine it
# installs what it needs, builds the project, starts a throughline-server and
# a PostgreSQL cluster of its own on 127.0.0.1 (free ports, temporary data
# directories, default durability), runs every workload for a bounded time,
# measures the machine's own limit with RocksDB's db_bench, runs the rebuild
# benchmark, prints one table and removes everything it started or made.
#
#   bench/compare.sh [--quick] [--seconds N] [--no-install] [--no-build]
#                    [--read-clients N] [--read-events N] [--rebuild-events N]
#                    [--memory-events N] [--soak-seconds N]
#
#   --quick            5 s per workload and a 200,000-event rebuild
#   --seconds N        seconds per workload (default 20)
#   --no-install       do not apt-get anything
#   --no-build         use the binaries already in $BUILD_DIR (default build)
#   --read-clients N   concurrent catch-up readers, both systems (default 2)
#   --read-events N    events in the log the readers page through, the same
#                      for both, written by 100-event appends (default
#                      1,000,000; --quick 200,000)
#   --rebuild-events N events of the rebuild benchmark (default 1,000,000)
#   --memory-events N  before stopping throughline-server, fill its log up to
#                      N events (100-event appends) and report its RSS, then
#                      soak it with appends and catch-up reads for
#                      --soak-seconds (default 0: skip; the issue's check is
#                      --memory-events 10000000 --soak-seconds 600)
#
# Network: 127.0.0.1 only. Needs root (for apt and to run PostgreSQL as the
# postgres user) or, without root, --no-install with the packages present.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}

SECONDS_PER_WORKLOAD=20
REBUILD_EVENTS=1000000
MEMORY_EVENTS=0
SOAK_SECONDS=120
READ_CLIENTS=2
READ_EVENTS=1000000
INSTALL=1
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SECONDS_PER_WORKLOAD=5; REBUILD_EVENTS=200000; READ_EVENTS=200000 ;;
    --seconds) SECONDS_PER_WORKLOAD=$2; shift ;;
    --seconds=*) SECONDS_PER_WORKLOAD=${1#*=} ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --read-clients) READ_CLIENTS=$2; shift ;;
    --read-clients=*) READ_CLIENTS=${1#*=} ;;
    --read-events) READ_EVENTS=$2; shift ;;
    --read-events=*) READ_EVENTS=${1#*=} ;;
    --rebuild-events) REBUILD_EVENTS=$2; shift ;;
    --memory-events) MEMORY_EVENTS=$2; shift ;;
    --memory-events=*) MEMORY_EVENTS=${1#*=} ;;
    --soak-seconds) SOAK_SECONDS=$2; shift ;;
    --soak-seconds=*) SOAK_SECONDS=${1#*=} ;;
    --rebuild-events=*) REBUILD_EVENTS=${1#*=} ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
SECS=$SECONDS_PER_WORKLOAD
# db_bench runs are shorter: they only need a steady rate.
DB_SECS=$(( SECS < 10 ? SECS : 10 ))
APPEND_CLIENTS=64
STREAMS=1000
EVENT_BYTES=300
BATCH=100
PAGE=10000
# The read log: the same number of 100-event appends on both systems.
FILL_PER_CLIENT=$(( (READ_EVENTS + BATCH * APPEND_CLIENTS - 1) / (BATCH * APPEND_CLIENTS) ))
FILL_APPENDS=$(( FILL_PER_CLIENT * APPEND_CLIENTS ))
READ_LOG=$(( FILL_APPENDS * BATCH ))

log() { echo "compare.sh: $*" >&2; }

# ---------------------------------------------------------------- install
PG_BIN=/usr/lib/postgresql/15/bin
if [ "$INSTALL" = 1 ]; then
  need=()
  for package in postgresql-15 postgresql-contrib rocksdb-tools procps; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed' || need+=("$package")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
      "${need[@]}" >/dev/null
  fi
fi
for tool in "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/pgbench" \
            "$PG_BIN/psql" db_bench; do
  command -v "$tool" >/dev/null ||
    { log "missing $tool (run without --no-install)"; exit 1; }
done
# Debian's package may start a cluster of its own on 5432; ours is separate.

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ]; then
  log "building (./dev.sh build)"
  if command -v flock >/dev/null; then
    BUILD_DIR=$BUILD_DIR flock /tmp/throughline-build.lock ./dev.sh build
  else
    BUILD_DIR=$BUILD_DIR ./dev.sh build
  fi
fi
SERVER=$ROOT/$BUILD_DIR/services/throughline-server
LOADGEN=$ROOT/$BUILD_DIR/bench/throughline-loadgen
REBUILD=$ROOT/$BUILD_DIR/bench/throughline-rebuild-bench
for binary in "$SERVER" "$LOADGEN" "$REBUILD"; do
  [ -x "$binary" ] || { log "missing $binary (build first)"; exit 1; }
done

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/throughline-compare.XXXXXX)
chmod 755 "$WORK"  # The postgres user must reach its data directory.
SERVER_PID=
PG_STARTED=0
PG_RUN=()
cleanup() {
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [ "$PG_STARTED" = 1 ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w \
      stop >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
# jget FILE KEY: a number from the last JSON line of FILE.
jget() {
  grep '^{' "$1" | tail -n1 |
    sed -n "s/.*\"$2\": \([-0-9.eE+]*\).*/\1/p"
}
# A free TCP port on 127.0.0.1.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}
# percentiles FILE...: p50 p99 p99.9 (ms) of pgbench per-transaction logs
# (third column: latency in microseconds).
percentiles() {
  awk '{print $3}' "$@" | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "0 0 0"; exit }
      split("50 99 99.9", ps, " ")
      out = ""
      for (i = 1; i <= 3; i++) {
        r = int(ps[i] / 100 * NR); if (r < ps[i] / 100 * NR) r++
        if (r < 1) r = 1
        out = out sprintf("%.3f ", v[r] / 1000)
      }
      print out
    }'
}
fmt() {  # fmt NUMBER: thousands separators, no decimals
  printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}
ratio() {  # ratio A B: A/B with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2fx", a / b; else print "n/a" }'
}

# ---------------------------------------------------------------- machine
CPUS=$(nproc)
MEM_GIB=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
DISK=$(df -h "$WORK" | awk 'NR == 2 { print $1 " (" $2 ", " $4 " free)" }')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $CPUS cores, $MEM_GIB GiB memory, $WORK on $DISK, load $LOAD_BEFORE"

# ---------------------------------------------------------------- Throughline
log "starting throughline-server"
"$SERVER" --listen=127.0.0.1:0 --data_dir="$WORK/throughline" \
  2>"$WORK/server.log" &
SERVER_PID=$!
TL_PORT=
for _ in $(seq 1 300); do
  TL_PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$WORK/server.log" | head -n1)
  [ -n "$TL_PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$TL_PORT" ] || { log "the server did not start"; cat "$WORK/server.log" >&2; exit 1; }
TL="127.0.0.1:$TL_PORT"
log "throughline-server on $TL"

loadgen() {  # loadgen NAME ARGS...
  local name=$1; shift
  log "throughline: $name"
  timeout $(( SECS + 600 )) "$LOADGEN" --server="$TL" --operator-token-file="$WORK/throughline/operator-token" --tenant=bench --json \
    --duration-seconds="$SECS" "$@" | tee "$WORK/tl-$name.out" >&2
}
loadgen append1 --mode=append --clients=$APPEND_CLIENTS --streams=$STREAMS \
  --event-bytes=$EVENT_BYTES --events-per-append=1
loadgen append100 --mode=append --clients=$APPEND_CLIENTS --streams=$STREAMS \
  --event-bytes=$EVENT_BYTES --events-per-append=$BATCH
loadgen read-fill --tenant=bench-read --mode=append \
  --clients=$APPEND_CLIENTS --streams=$STREAMS --event-bytes=$EVENT_BYTES \
  --events-per-append=$BATCH --count=$FILL_APPENDS
loadgen read --tenant=bench-read --mode=read --clients="$READ_CLIENTS" \
  --page=$PAGE
loadgen subscribe --tenant=bench-read --mode=subscribe \
  --clients="$READ_CLIENTS"
TL_EVENTS=$(( $(jget "$WORK/tl-append1.out" events) + $(jget "$WORK/tl-append100.out" events) + READ_LOG ))
TL_RSS=$(awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status")
TL_HWM=$(awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status")
TL_DISK=$(du -sm "$WORK/throughline" | cut -f1)
rss() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
MEMORY_LINE=
if [ "$MEMORY_EVENTS" -gt "$TL_EVENTS" ]; then
  appends=$(( (MEMORY_EVENTS - TL_EVENTS + BATCH - 1) / BATCH ))
  log "throughline: filling the log to $MEMORY_EVENTS events ($appends appends of $BATCH)"
  timeout 3600 "$LOADGEN" --server="$TL" --operator-token-file="$WORK/throughline/operator-token" --tenant=bench --json --mode=append \
    --clients=$APPEND_CLIENTS --streams=$STREAMS --event-bytes=$EVENT_BYTES \
    --events-per-append=$BATCH --count="$appends" | tee "$WORK/tl-fill.out" >&2
  MEM_EVENTS=$(( TL_EVENTS + $(jget "$WORK/tl-fill.out" events) ))
  RSS_FILLED=$(rss)
  log "throughline: soak, $SOAK_SECONDS s of appends and catch-up reads"
  timeout $(( SOAK_SECONDS + 120 )) "$LOADGEN" --server="$TL" --operator-token-file="$WORK/throughline/operator-token" --tenant=bench \
    --mode=append --clients=$APPEND_CLIENTS --streams=$STREAMS \
    --event-bytes=$EVENT_BYTES --duration-seconds="$SOAK_SECONDS" \
    >"$WORK/tl-soak-append.out" 2>&1 &
  soak_append=$!
  timeout $(( SOAK_SECONDS + 120 )) "$LOADGEN" --server="$TL" --operator-token-file="$WORK/throughline/operator-token" --tenant=bench \
    --mode=read --clients="$READ_CLIENTS" --page=$PAGE \
    --duration-seconds="$SOAK_SECONDS" >"$WORK/tl-soak-read.out" 2>&1 &
  soak_read=$!
  samples="$RSS_FILLED"
  for _ in $(seq 1 $(( SOAK_SECONDS / 10 ))); do
    sleep 10
    samples="$samples $(rss)"
  done
  wait "$soak_append" "$soak_read" || { cat "$WORK"/tl-soak-*.out >&2; exit 1; }
  cat "$WORK"/tl-soak-*.out >&2
  RSS_SOAKED=$(rss)
  SOAK_EVENTS=$(sed -n 's/^append *[0-9]* *\([0-9]*\) .*/\1/p' "$WORK/tl-soak-append.out")
  MEMORY_LINE="Memory: throughline-server RSS ${RSS_FILLED} MiB with $(fmt "$MEM_EVENTS") events in its logs; during a ${SOAK_SECONDS} s soak of appends and catch-up reads that added $(fmt "${SOAK_EVENTS:-0}") events, sampled every 10 s (MiB): $samples; after: ${RSS_SOAKED} MiB."
  log "$MEMORY_LINE"
  TL_RSS=$(rss)
  TL_HWM=$(awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status")
  TL_EVENTS=$(( MEM_EVENTS + ${SOAK_EVENTS:-0} ))
fi
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
rm -rf "$WORK/throughline"

# ---------------------------------------------------------------- PostgreSQL
mkdir -p "$WORK/pg/data" "$WORK/pg/socket"
if [ "$(id -u)" -eq 0 ]; then
  # initdb refuses root: the cluster runs as the postgres user.
  id postgres >/dev/null 2>&1 ||
    useradd --system --home-dir /var/lib/postgresql postgres
  chown -R postgres "$WORK/pg"
  PG_RUN=(runuser -u postgres --)
fi
log "postgresql: initdb"
"${PG_RUN[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust \
  -E UTF8 --locale=C >"$WORK/pg/initdb.log" 2>&1 ||
  { cat "$WORK/pg/initdb.log" >&2; exit 1; }
PG_PORT=
for _ in 1 2 3 4 5; do
  PG_PORT=$(free_port)
  if "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK/pg/socket -c max_connections=200" \
      start >/dev/null 2>&1; then
    PG_STARTED=1
    break
  fi
done
[ "$PG_STARTED" = 1 ] || { log "postgresql did not start"; cat "$WORK/pg/server.log" >&2; exit 1; }
PGARGS=(-h 127.0.0.1 -p "$PG_PORT" -U postgres)
log "postgresql 15 on 127.0.0.1:$PG_PORT (fsync=$("$PG_BIN/psql" "${PGARGS[@]}" -Atc 'show fsync' postgres), synchronous_commit=$("$PG_BIN/psql" "${PGARGS[@]}" -Atc 'show synchronous_commit' postgres))"
"$PG_BIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 postgres \
  -c 'CREATE DATABASE bench' >/dev/null
cat >"$WORK/pg/schema.sql" <<'SQL'
-- The events table a team would write: a global position, a unique
-- (stream, version) and a unique event id.
CREATE TABLE streams (
  stream  text PRIMARY KEY,
  version bigint NOT NULL
);
CREATE TABLE events (
  position     bigserial PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  stream       text NOT NULL,
  version      bigint NOT NULL,
  type         text NOT NULL,
  content_type text NOT NULL DEFAULT 'application/octet-stream',
  data         bytea NOT NULL,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, version)
);
-- Append with the same meaning as Throughline's Append: all events or none;
-- p_expected NULL = any, -1 = no stream, -2 = stream exists, >= 0 = exact
-- revision; an append whose ids are all stored with the same content is an
-- idempotent retry returning the original positions; an id stored with
-- other content (or only some ids stored) is refused.
CREATE FUNCTION append_events(p_stream text, p_expected bigint, p_ids uuid[],
                              p_types text[], p_data bytea[])
RETURNS TABLE (first_version bigint, last_version bigint,
               first_position bigint, last_position bigint,
               already_stored boolean)
LANGUAGE plpgsql AS $$
DECLARE
  n int := cardinality(p_ids);
  stored int;
  same int;
  v_last bigint;
BEGIN
  SELECT count(*),
         count(*) FILTER (WHERE e.stream = p_stream AND e.type = p_types[i.ord]
                                AND e.data = p_data[i.ord])
    INTO stored, same
    FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
    JOIN events e ON e.event_id = i.id;
  IF stored > 0 THEN
    IF stored = n AND same = n THEN
      RETURN QUERY
        SELECT min(e.version), max(e.version), min(e.position),
               max(e.position), true
          FROM events e WHERE e.event_id = ANY (p_ids);
      RETURN;
    END IF;
    RAISE EXCEPTION 'an event id is already stored with other content'
      USING ERRCODE = 'unique_violation';
  END IF;
  -- One row lock per stream serializes its appends.
  IF p_expected IS NULL THEN
    INSERT INTO streams AS s VALUES (p_stream, n - 1)
      ON CONFLICT (stream) DO UPDATE SET version = s.version + n
      RETURNING s.version INTO v_last;
  ELSIF p_expected = -1 THEN
    INSERT INTO streams VALUES (p_stream, n - 1) ON CONFLICT DO NOTHING
      RETURNING version INTO v_last;
  ELSIF p_expected = -2 THEN
    UPDATE streams SET version = version + n WHERE stream = p_stream
      RETURNING version INTO v_last;
  ELSE
    UPDATE streams SET version = version + n
      WHERE stream = p_stream AND version = p_expected
      RETURNING version INTO v_last;
  END IF;
  IF v_last IS NULL THEN
    RAISE EXCEPTION 'wrong expected version % for stream %', p_expected,
      p_stream USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN QUERY
    WITH inserted AS (
      INSERT INTO events (event_id, stream, version, type, data)
      SELECT i.id, p_stream, v_last - n + i.ord, p_types[i.ord], p_data[i.ord]
        FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord)
       ORDER BY i.ord
      RETURNING position, version)
    SELECT min(version), max(version), min(position), max(position), false
      FROM inserted;
END $$;
SQL
"$PG_BIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 bench -f "$WORK/pg/schema.sql" >/dev/null

# The same checks the event store's tests make, once, so that the function
# is known to mean what ours does.
"$PG_BIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 -At bench >"$WORK/pg/check.out" 2>&1 <<'SQL' || { cat "$WORK/pg/check.out" >&2; log "the PostgreSQL append function failed its checks"; exit 1; }
SELECT already_stored FROM append_events('check-1', -1,
  ARRAY['00000000-0000-4000-8000-000000000001'::uuid], ARRAY['A'], ARRAY['x'::bytea]);
SELECT already_stored FROM append_events('check-1', NULL,
  ARRAY['00000000-0000-4000-8000-000000000001'::uuid], ARRAY['A'], ARRAY['x'::bytea]);
SELECT last_version FROM append_events('check-1', 0,
  ARRAY['00000000-0000-4000-8000-000000000002'::uuid], ARRAY['A'], ARRAY['y'::bytea]);
DO $$ BEGIN
  PERFORM append_events('check-1', 0,
    ARRAY['00000000-0000-4000-8000-000000000003'::uuid], ARRAY['A'], ARRAY['z'::bytea]);
  RAISE EXCEPTION 'a stale expected version was accepted';
EXCEPTION WHEN serialization_failure THEN NULL; END $$;
DO $$ BEGIN
  PERFORM append_events('check-1', NULL,
    ARRAY['00000000-0000-4000-8000-000000000001'::uuid], ARRAY['A'], ARRAY['other'::bytea]);
  RAISE EXCEPTION 'a reused id with other content was accepted';
EXCEPTION WHEN unique_violation THEN NULL; END $$;
TRUNCATE events, streams;
ALTER SEQUENCE events_position_seq RESTART;
SQL

PAYLOAD=$(awk -v n=$EVENT_BYTES 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%c", 97 + int(rand() * 26) }')
PAYLOAD100="{$(for _ in $(seq 1 $BATCH); do printf '%s,' "$PAYLOAD"; done | sed 's/,$//')}"
cat >"$WORK/pg/append1.sql" <<'SQL'
\set s random(1, 1000)
SELECT * FROM append_events('bench-' || :s, NULL, ARRAY[gen_random_uuid()], ARRAY['BenchEvent'], ARRAY[convert_to(:payload, 'UTF8')]);
SQL
sed -i "s/random(1, 1000)/random(1, $STREAMS)/" "$WORK/pg/append1.sql"
cat >"$WORK/pg/append100.sql" <<SQL
\\set s random(1, $STREAMS)
SELECT * FROM append_events('bench-' || :s, NULL, ARRAY(SELECT gen_random_uuid() FROM generate_series(1, $BATCH)), array_fill('BenchEvent'::text, ARRAY[$BATCH]), CAST(:payload100 AS bytea[]));
SQL
# Keyset paging through the whole log from position 0, starting again at 0
# after the end; \aset keeps the first row, whose "next" is the page's last
# position.
cat >"$WORK/pg/read.sql" <<SQL
SELECT position, event_id, stream, version, type, content_type, data, occurred_at, recorded_at, max(position) OVER () AS next FROM (SELECT * FROM events WHERE position > :last ORDER BY position LIMIT $PAGE) page \\aset
\\if :next = :last
\\set last 0
\\else
\\set last :next
\\endif
SQL

pgbench_run() {  # pgbench_run NAME CLIENTS SCRIPT [--read-db] [PGBENCH ARGS...]
  local name=$1 clients=$2 script=$3; shift 3
  local database=bench length=(-T "$SECS") args=() threads=1
  for arg in "$@"; do
    case "$arg" in
      --read-db) database=bench_read ;;
      -t) length=(); args+=("$arg") ;;
      *) args+=("$arg") ;;
    esac
  done
  [ $(( clients % 2 )) -eq 0 ] && threads=2
  log "postgresql: $name"
  mkdir -p "$WORK/pg/log-$name"
  (cd "$WORK/pg/log-$name" &&
    timeout $(( SECS + 600 )) "$PG_BIN/pgbench" "${PGARGS[@]}" -n -M prepared \
      -c "$clients" -j "$threads" "${length[@]}" -l -f "$script" \
      "${args[@]}" "$database") \
    >"$WORK/pg/$name.out" 2>&1 || { cat "$WORK/pg/$name.out" >&2; exit 1; }
  grep -E 'number of (transactions actually processed|failed)|latency average|tps' \
    "$WORK/pg/$name.out" >&2
}
pg_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pg/$1.out" | head -n1; }

pgbench_run append1 $APPEND_CLIENTS "$WORK/pg/append1.sql" -D "payload=$PAYLOAD"
read -r PG_A1_P50 PG_A1_P99 PG_A1_P999 <<<"$(percentiles "$WORK/pg/log-append1"/pgbench_log.*)"
pgbench_run append100 $APPEND_CLIENTS "$WORK/pg/append100.sql" -D "payload100=$PAYLOAD100"
read -r PG_A100_P50 PG_A100_P99 PG_A100_P999 <<<"$(percentiles "$WORK/pg/log-append100"/pgbench_log.*)"
"$PG_BIN/psql" "${PGARGS[@]}" -q bench -c 'VACUUM ANALYZE events' >/dev/null
PG_EVENTS=$("$PG_BIN/psql" "${PGARGS[@]}" -Atc 'SELECT count(*) FROM events' bench)
"$PG_BIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 postgres \
  -c 'CREATE DATABASE bench_read' >/dev/null
"$PG_BIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 bench_read -f "$WORK/pg/schema.sql" >/dev/null
pgbench_run read-fill $APPEND_CLIENTS "$WORK/pg/append100.sql" --read-db \
  -t $FILL_PER_CLIENT -D "payload100=$PAYLOAD100"
"$PG_BIN/psql" "${PGARGS[@]}" -q bench_read -c 'VACUUM ANALYZE events' >/dev/null
PG_ROWS=$("$PG_BIN/psql" "${PGARGS[@]}" -Atc 'SELECT count(*) FROM events' bench_read)
PG_MAXPOS=$("$PG_BIN/psql" "${PGARGS[@]}" -Atc 'SELECT max(position) FROM events' bench_read)
pgbench_run read "$READ_CLIENTS" "$WORK/pg/read.sql" --read-db -D last=0 -D next=-1
read -r PG_R_P50 PG_R_P99 PG_R_P999 <<<"$(percentiles "$WORK/pg/log-read"/pgbench_log.*)"
PG_DISK=$(du -sm "$WORK/pg/data" | cut -f1)
PG_A1=$(pg_tps append1)
PG_A100=$(awk -v t="$(pg_tps append100)" -v b=$BATCH 'BEGIN { print t * b }')
# Each pass over the log is ceil(rows / page) full pages and one empty query.
PG_READ=$(awk -v t="$(pg_tps read)" -v n="$PG_ROWS" -v p=$PAGE \
  'BEGIN { q = int((n + p - 1) / p) + 1; print t * n / q }')
"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null
PG_STARTED=0
rm -rf "$WORK/pg/data"

# ---------------------------------------------------------------- machine limit
dbbench() {  # dbbench NAME ARGS...: keys/s
  local name=$1; shift
  log "db_bench: $name"
  timeout $(( DB_SECS + 120 )) db_bench --db="$WORK/db_bench" --key_size=24 \
    --value_size=$EVENT_BYTES --compression_type=none --num=100000000 \
    --duration="$DB_SECS" --statistics=0 "$@" >"$WORK/db_bench-$name.out" 2>&1 ||
    { cat "$WORK/db_bench-$name.out" >&2; exit 1; }
  grep -E '^(fill|read)' "$WORK/db_bench-$name.out" >&2
  awk '/ops\/sec/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ops/sec;" || $(i + 1) == "ops/sec") print $i }' \
    "$WORK/db_bench-$name.out" | tail -n1
}
DB_SYNC1_T1=$(dbbench sync-batch1-threads1 --benchmarks=fillrandom --sync=1 --batch_size=1 --threads=1)
DB_SYNC1_T64=$(dbbench sync-batch1-threads64 --benchmarks=fillrandom --sync=1 --batch_size=1 --threads=$APPEND_CLIENTS)
DB_SYNC100_T1=$(dbbench sync-batch100-threads1 --benchmarks=fillrandom --sync=1 --batch_size=$BATCH --threads=1)
DB_SYNC100_T64=$(dbbench sync-batch100-threads64 --benchmarks=fillrandom --sync=1 --batch_size=$BATCH --threads=$APPEND_CLIENTS)
DB_READSEQ=$(dbbench readseq --benchmarks=readseq --use_existing_db=1 --threads="$READ_CLIENTS")
FSYNC_MS=$(awk -v r="$DB_SYNC1_T1" 'BEGIN { if (r > 0) printf "%.3f", 1000 / r; else print "n/a" }')
rm -rf "$WORK/db_bench"

# ---------------------------------------------------------------- rebuild
log "rebuild benchmark: $REBUILD_EVENTS events"
timeout 900 "$REBUILD" --events="$REBUILD_EVENTS" --dir="$WORK/rebuild" --json \
  >"$WORK/rebuild.out" 2>&1 || { cat "$WORK/rebuild.out" >&2; exit 1; }
cat "$WORK/rebuild.out" >&2
REBUILD_RATE=$(jget "$WORK/rebuild.out" rebuild_events_per_second)
rm -rf "$WORK/rebuild"

# ---------------------------------------------------------------- table
TL_A1=$(jget "$WORK/tl-append1.out" calls_per_second)
TL_A1_P50=$(jget "$WORK/tl-append1.out" p50_ms)
TL_A1_P99=$(jget "$WORK/tl-append1.out" p99_ms)
TL_A1_P999=$(jget "$WORK/tl-append1.out" p999_ms)
TL_A100=$(jget "$WORK/tl-append100.out" events_per_second)
TL_A100_P50=$(jget "$WORK/tl-append100.out" p50_ms)
TL_A100_P99=$(jget "$WORK/tl-append100.out" p99_ms)
TL_A100_P999=$(jget "$WORK/tl-append100.out" p999_ms)
TL_R_P50=$(jget "$WORK/tl-read.out" p50_ms)
TL_R_P99=$(jget "$WORK/tl-read.out" p99_ms)
TL_R_P999=$(jget "$WORK/tl-read.out" p999_ms)
TL_READ=$(jget "$WORK/tl-read.out" events_per_second)
TL_SUB=$(jget "$WORK/tl-subscribe.out" events_per_second)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# check A OP B: 1 when A OP B holds (awk arithmetic).
check() { awk -v a="$1" -v b="$3" "BEGIN { print (a $2 b) ? 1 : 0 }"; }
verdict() {  # verdict TEXT 0|1
  if [ "$2" = 1 ]; then echo "$1: met"; else echo "$1: MISSED"; fi
}
quotient() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0) ? a / b : 0 }'; }
ms3() {  # ms3 A B C: "A / B / C" with one decimal
  awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.1f / %.1f / %.1f", a, b, c }'
}

row() { printf "| %-44s | %20s | %20s | %6s | %-36s | %-22s |\n" "$@"; }
echo
echo "Throughline vs PostgreSQL 15, $(date -u +%Y-%m-%d): $CPUS cores, $MEM_GIB GiB, $DISK;"
echo "${SECS} s per workload; clients and servers on this one machine; every append durable before its reply."
echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER (the machine may be shared with other work)."
echo
row "workload" "Throughline" "PostgreSQL" "ratio" "machine limit (RocksDB db_bench)" "target"
row "--------------------------------------------" "--------------------" "--------------------" "------" "------------------------------------" "----------------------"
row "1-event appends/s, 64 clients, 1000 streams" "$(fmt "$TL_A1")" "$(fmt "$PG_A1")" "$(ratio "$TL_A1" "$PG_A1")" "$(fmt "$DB_SYNC1_T64") synced puts/s, 64 threads" \
  "$(verdict ">= 3x PG" "$(check "$(quotient "$TL_A1" "$PG_A1")" ">=" 3)")"
row "  latency p50 / p99 / p99.9, ms" "$(ms3 "$TL_A1_P50" "$TL_A1_P99" "$TL_A1_P999")" "$(ms3 "$PG_A1_P50" "$PG_A1_P99" "$PG_A1_P999")" "" "one fsync: $FSYNC_MS ms" \
  "$(verdict "p99 <= 10 ms" "$(check "$TL_A1_P99" "<=" 10)")"
row "100-event appends, events/s, 64 clients" "$(fmt "$TL_A100")" "$(fmt "$PG_A100")" "$(ratio "$TL_A100" "$PG_A100")" "$(fmt "$DB_SYNC100_T64") keys/s, batch 100, 64 thr" \
  "$(verdict ">= 2.5x PG" "$(check "$(quotient "$TL_A100" "$PG_A100")" ">=" 2.5)")"
row "  latency p50 / p99 / p99.9, ms" "$(ms3 "$TL_A100_P50" "$TL_A100_P99" "$TL_A100_P999")" "$(ms3 "$PG_A100_P50" "$PG_A100_P99" "$PG_A100_P999")" "" "$(fmt "$DB_SYNC100_T1") keys/s, batch 100, 1 thr" ""
row "catch-up read, events/s, $READ_CLIENTS readers" "$(fmt "$TL_READ")" "$(fmt "$PG_READ")" "$(ratio "$TL_READ" "$PG_READ")" "$(fmt "$DB_READSEQ") keys/s readseq, in-process" \
  "$(verdict ">= 2x PG" "$(check "$(quotient "$TL_READ" "$PG_READ")" ">=" 2)")"
row "  page latency p50 / p99 / p99.9, ms" "$(ms3 "$TL_R_P50" "$TL_R_P99" "$TL_R_P999")" "$(ms3 "$PG_R_P50" "$PG_R_P99" "$PG_R_P999")" "" "" ""
row "catch-up via Subscribe, events/s, $READ_CLIENTS readers" "$(fmt "$TL_SUB")" "n/a" "" "" ""
row "full rebuild of the views, events/s" "$(fmt "$REBUILD_RATE")" "n/a" "" "" \
  "$(verdict ">= 500,000/s" "$(check "$REBUILD_RATE" ">=" 500000)")"
row "server RSS after its workloads, MiB" "$TL_RSS" "n/a" "" "" "<= 512 with 10M events"
echo
echo "Reads: ReadAll / keyset pages of $PAGE from position 0, starting over at the end, through a log of the same size on both: Throughline $(fmt "$READ_LOG") events (tenant bench-read), PostgreSQL $(fmt "$PG_ROWS") rows (max position $PG_MAXPOS), each written by $(fmt "$FILL_APPENDS") appends of $BATCH events of $EVENT_BYTES bytes."
echo "Rebuild: $(fmt "$REBUILD_EVENTS") generated CPD events (bench/rebuild_bench.cc); its phases:"
sed -n '/^phase/,/^peak/p' "$WORK/rebuild.out"
echo "Written by the timed append workloads: Throughline $(fmt "$(( $(jget "$WORK/tl-append1.out" events) + $(jget "$WORK/tl-append100.out" events) ))") events, PostgreSQL $(fmt "$PG_EVENTS") rows."
echo "Disk used at the end (all logs): Throughline ${TL_DISK} MiB, PostgreSQL ${PG_DISK} MiB."
echo "throughline-server RSS after all its workloads: ${TL_RSS} MiB (peak ${TL_HWM} MiB) with $(fmt "$TL_EVENTS") events in its logs."
[ -z "$MEMORY_LINE" ] || echo "$MEMORY_LINE"
echo "RocksDB db_bench synced puts: $(fmt "$DB_SYNC1_T1")/s with 1 thread, $(fmt "$DB_SYNC1_T64")/s with 64; batches of 100: $(fmt "$DB_SYNC100_T1") keys/s with 1 thread, $(fmt "$DB_SYNC100_T64") with 64."
