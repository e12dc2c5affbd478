#!/usr/bin/env bash
# Throughline's one entry point for people and CI on Debian 12.
#
#   ./dev.sh run [server flags]   install what is missing, build, start the
#                                 server on 127.0.0.1:50051 (data in
#                                 ./throughline-data)
#   ./dev.sh test                 install what is missing, build, run every test,
#                                 then each fuzzer briefly (FUZZ_SECONDS each)
#   ./dev.sh build                install what is missing and build
#   ./dev.sh fuzz [seconds]       build the fuzzers (clang) and run each for
#                                 `seconds` (default 300); docs/fuzzing.md
#   ./dev.sh install              only install the Debian packages
#
# Environment: BUILD_DIR (default: build), BUILD_TYPE (default: RelWithDebInfo),
# FUZZ_BUILD_DIR (default: build-fuzz), FUZZ_SECONDS (default: 20; 0 skips
# the fuzzers in `test`).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}

# Everything the build, the tests and the tools need, from Debian 12.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  librocksdb-dev libabsl-dev libssl-dev openssl nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3-grpcio python3-protobuf
  nats-server libnats-dev nodejs
  libgoogle-perftools-dev  # tcmalloc for the server
  libcpp-httplib-dev
  prometheus  # for promtool, which checks the metrics in a test; the daemon is not used
  systemd     # for systemd-analyze, which checks deploy/throughline-server.service
  clang-14 libclang-rt-14-dev
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

# The libFuzzer targets (fuzz/) are built by clang with sanitizers in a
# build directory of their own; the build above is unchanged.
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZERS=(request_fuzzer event_fuzzer record_fuzzer)

build_fuzzers() {
  install_packages
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$FUZZ_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DTHROUGHLINE_FUZZ=ON >/dev/null
  cmake --build "$FUZZ_BUILD_DIR" --target "${FUZZERS[@]}"
}

# run_fuzzers SECONDS: each fuzzer for SECONDS, starting from its checked-in
# seed corpus (only read) and the inputs earlier runs found (kept in
# $FUZZ_BUILD_DIR/corpus). A crash stops the run with its input saved in
# $FUZZ_BUILD_DIR/crashes/.
run_fuzzers() {
  local seconds=$1 fuzzer
  mkdir -p "$FUZZ_BUILD_DIR/crashes"
  for fuzzer in "${FUZZERS[@]}"; do
    mkdir -p "$FUZZ_BUILD_DIR/corpus/$fuzzer"
    echo "dev.sh: $fuzzer for ${seconds}s" >&2
    # -detect_leaks=0: a leak check after every input that allocated more
    # than it freed scans RocksDB's caches each time and cuts throughput
    # severalfold. Run a fuzzer by hand with -detect_leaks=1 to look for
    # leaks.
    "$FUZZ_BUILD_DIR/fuzz/$fuzzer" -max_total_time="$seconds" -timeout=60 \
      -rss_limit_mb=3072 -detect_leaks=0 -print_final_stats=1 \
      -artifact_prefix="$FUZZ_BUILD_DIR/crashes/$fuzzer-" \
      "$FUZZ_BUILD_DIR/corpus/$fuzzer" "fuzz/corpus/$fuzzer"
  done
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
    if [ "${FUZZ_SECONDS:-20}" -gt 0 ]; then
      build_fuzzers
      run_fuzzers "${FUZZ_SECONDS:-20}"
    fi
    ;;
  fuzz)
    build_fuzzers
    run_fuzzers "${2:-300}"
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
