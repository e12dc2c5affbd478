#!/usr/bin/env bash
# Starts the 3-node JetStream cluster of this directory in the foreground,
# with its stores under DIR (created if missing); Ctrl-C stops all three.
#
#   deploy/nats/run-cluster.sh /tmp/throughline-nats
#   build/services/throughline-server --bus_replicas=3 \
#     --nats_url=nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: run-cluster.sh STORE_DIR}
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for node in n1 n2 n3; do
  mkdir -p "$dir/$node"
  THROUGHLINE_NATS_STORE="$dir/$node" "$nats_server" -c "$here/$node.conf" \
    2> >(sed "s/^/[$node] /" >&2) &
  pids+=($!)
done
wait
