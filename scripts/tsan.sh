#!/usr/bin/env bash
# The concurrency tests under ThreadSanitizer, and clang's thread-safety
# analysis over all of our code: configures a separate clang tree with
# -DKSEF_SANITIZE=thread -DKSEF_THREAD_SAFETY_ANALYSIS=ON, builds the target
# ksef_concurrency (every library and program of ours, each compiled with
# -Werror=thread-safety, plus the tests labelled "concurrency" and what they
# start: ksef-hsmd, the fault PKCS#11 module), then runs `ctest -L
# concurrency` with the TSAN_OPTIONS of cmake/Sanitizers.cmake (the first
# race fails the test; only the third-party races in tests/sanitizers/tsan.supp
# are suppressed) and a test PostgreSQL server (scripts/with-test-pg.sh).
#
# Usage: scripts/tsan.sh [extra ctest arguments, e.g. -R audit]
# Environment:
#   KSEF_TSAN_BUILD_DIR  build tree   (default: <repo>/build-tsan)
#   KSEF_TEST_TIME_SCALE factor for the latency bounds of the e2e tests (default: 8)
#   CCACHE_DISABLE=1     build without ccache (ccache is used when installed)
# Does not install packages (scripts/install-deps.sh does). The exit status
# is ctest's (or the build's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_TSAN_BUILD_DIR:-${ROOT}/build-tsan}"
JOBS="$(nproc)"

log() { printf '[tsan] %s\n' "$*"; }
die() { printf '[tsan] ERROR: %s\n' "$*" >&2; exit 1; }

command -v clang++ >/dev/null 2>&1 || die "clang++ not found: run scripts/install-deps.sh"

launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "${ROOT}")}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# -O1 -g1 as in sanitize.sh (TSan's reports need line tables, not full -g).
# Benchmarks are not tests and are left out.
log "configure: ${BUILD_DIR} (clang, -fsanitize=thread, -Werror=thread-safety)"
cmake -S "${ROOT}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DKSEF_SANITIZE=thread -DKSEF_THREAD_SAFETY_ANALYSIS=ON -DKSEF_BUILD_BENCH=OFF \
  -DKSEF_WERROR=ON "${launcher[@]}"

log "build ksef_concurrency with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" -j "${JOBS}" --target ksef_concurrency

log "ctest -L concurrency in ${BUILD_DIR}"
# TSan slows instrumented code 5-15x: the per-test TIMEOUTs of the CMake
# files apply, --timeout only to tests without one; the e2e latency bounds
# scale by KSEF_TEST_TIME_SCALE.
export KSEF_TEST_TIME_SCALE="${KSEF_TEST_TIME_SCALE:-8}"
bash "${ROOT}/scripts/with-test-pg.sh" "${BUILD_DIR}/pg-test" \
  ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 --timeout 1800 \
  --no-tests=error -L concurrency "$@"
