#!/usr/bin/env bash
# CI smoke run of throughline-loadgen: starts a throughline-server on a free
# loopback port with a temporary data directory, runs 200 appends, a
# catch-up read and a subscription through the load generator, then stops
# the server and removes everything. Checks that the tool runs; never
# asserts a speed.
#
#   bench/smoke_loadgen.sh SERVER_BINARY LOADGEN_BINARY
set -euo pipefail

server_binary=${1:?usage: smoke_loadgen.sh SERVER_BINARY LOADGEN_BINARY}
loadgen_binary=${2:?usage: smoke_loadgen.sh SERVER_BINARY LOADGEN_BINARY}

work=$(mktemp -d "${TMPDIR:-/tmp}/throughline-loadgen-smoke.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$server_binary" --listen=127.0.0.1:0 --data_dir="$work/data" \
  2>"$work/server.log" &
server_pid=$!

port=
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n1)
  [ -n "$port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "smoke_loadgen: the server exited during start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "smoke_loadgen: the server did not report its port" >&2
  cat "$work/server.log" >&2
  exit 1
fi

run() {
  timeout 60 "$loadgen_binary" --server="127.0.0.1:$port" --tenant=smoke \
    --operator-token-file="$work/data/operator-token" --json "$@"
}
run --mode=append --clients=8 --streams=10 --event-bytes=300 --count=200
run --mode=append --clients=2 --streams=10 --events-per-append=100 --count=4
run --mode=read --clients=2 --page=100 --count=200
run --mode=subscribe --clients=1 --count=200
echo "smoke_loadgen: ok"
