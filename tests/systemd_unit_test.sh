#!/bin/sh
# Checks deploy/throughline-server.service with systemd-analyze verify,
# pointing its ExecStart at the binary just built (verify insists that it
# exists).
#   systemd_unit_test.sh UNIT_FILE SERVER_BINARY
set -eu
unit=$1
binary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/throughline-server|$binary|g" "$unit" \
  >"$work/throughline-server.service"
# Fails on any error; the service user need not exist here.
out=$(systemd-analyze verify --man=no "$work/throughline-server.service" 2>&1) || {
  echo "$out"
  exit 1
}
echo "$out"
# Warnings about the unit itself (not about the host) also fail.
if echo "$out" | grep -q "throughline-server.service:"; then
  exit 1
fi
echo "systemd unit is valid"
