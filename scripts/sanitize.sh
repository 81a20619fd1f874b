#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer:
# configures and builds a separate tree with -DKSEF_SANITIZE (every target of
# ours, including the ksef-hsmd binary the e2e tests start), then runs every
# ctest test there with the sanitizer options of cmake/Sanitizers.cmake
# (the first finding fails the test; leaks are reported, with only the
# third-party leaks in tests/sanitizers/lsan.supp suppressed) and a test
# PostgreSQL server (scripts/with-test-pg.sh). Tests labelled "ops" are
# left out: they check what surrounds our code (the Debian package, a real
# Prometheus, the Python and Node.js clients, the API document), which a
# sanitizer build of the same code does not change.
#
# Usage: scripts/sanitize.sh [extra ctest arguments, e.g. -R policy]
# Environment:
#   KSEF_ASAN_BUILD_DIR  build tree         (default: <repo>/build-asan)
#   KSEF_SANITIZERS      -fsanitize= list   (default: address,undefined)
#   CCACHE_DISABLE=1     build without ccache (ccache is used when installed)
# Does not install packages (scripts/install-deps.sh does). The exit status
# is ctest's (or the build's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_ASAN_BUILD_DIR:-${ROOT}/build-asan}"
SANITIZERS="${KSEF_SANITIZERS:-address,undefined}"
JOBS="$(nproc)"

log() { printf '[sanitize] %s\n' "$*"; }

launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "${ROOT}")}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# -O1: the optimization ASan recommends (usable speed, exact reports);
# -g1: line tables for the stack traces, less to compile and link than -g.
# Benchmarks are not tests and are left out.
log "configure: ${BUILD_DIR} (-fsanitize=${SANITIZERS})"
cmake -S "${ROOT}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DKSEF_SANITIZE="${SANITIZERS}" -DKSEF_BUILD_BENCH=OFF -DKSEF_WERROR=ON "${launcher[@]}"

log "build with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" -j "${JOBS}"

log "ctest in ${BUILD_DIR}"
# Instrumented code runs about 2-3x slower: the per-test TIMEOUTs of the
# CMake files apply, --timeout only to tests without one, and tests that
# measure latency or memory (e2e_hostile_test) scale their bounds by these
# factors (ASan's shadow memory and 256 MB quarantine inflate the RSS).
export KSEF_TEST_TIME_SCALE="${KSEF_TEST_TIME_SCALE:-4}"
export KSEF_TEST_MEMORY_SCALE="${KSEF_TEST_MEMORY_SCALE:-4}"
bash "${ROOT}/scripts/with-test-pg.sh" "${BUILD_DIR}/pg-test" \
  ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 --timeout 1800 \
  --no-tests=error -LE '^ops$' "$@"
