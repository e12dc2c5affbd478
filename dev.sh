#!/usr/bin/env bash
# Throughline's one entry point for people and CI on Debian 12.
#
#   ./dev.sh run [server flags]   install what is missing, build, start the
#                                 server on 127.0.0.1:50051 (data in
#                                 ./throughline-data)
#   ./dev.sh test                 install what is missing, build, run every test
#   ./dev.sh build                install what is missing and build
#   ./dev.sh install              only install the Debian packages
#
# Environment: BUILD_DIR (default: build), BUILD_TYPE (default: RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}

# Everything the build, the tests and the tools need, from Debian 12.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  librocksdb-dev libabsl-dev libssl-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3-grpcio python3-protobuf
  nats-server libnats-dev nodejs
  libcpp-httplib-dev
  prometheus  # for promtool, which checks the metrics in a test; the daemon is not used
  systemd     # for systemd-analyze, which checks deploy/throughline-server.service
)
# Debian's npm, for the bus's Node consumer test (tests/node), unless an npm
# is already there (a Node.js from elsewhere that ships its own conflicts
# with Debian's npm package).
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

install_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
        grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

# build [target...]: every target, or only those named.
build() {
  install_packages
  # Let ccache share compiled objects between checkouts in other folders.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  local targets=()
  for target in "$@"; do targets+=(--target "$target"); done
  cmake --build "$BUILD_DIR" "${targets[@]}"
}

case "${1:-}" in
  install)
    install_packages
    ;;
  build)
    build
    ;;
  run)
    shift
    build throughline-server throughline
    exec "$BUILD_DIR/services/throughline-server" "$@"
    ;;
  test)
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel 2 \
      --timeout 600
    ;;
  *)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
