#!/usr/bin/env bash
# Every test, in four stages (docs/testing.md):
#   1. the normal suite: installs the Debian packages, builds (and installs
#      into the prefix, as the e2e tests may use the installed binaries) and
#      runs ctest with a throwaway PostgreSQL server for the audit store tests
#      (scripts/with-test-pg.sh, in ${BUILD_DIR}/pg-test; KSEF_TEST_PG);
#   2. the same suite under ASan+UBSan (scripts/sanitize.sh, build-asan/);
#   3. the libFuzzer targets, each for a bounded time (scripts/fuzz.sh,
#      build-fuzz/);
#   4. the concurrency tests under ThreadSanitizer, with every library of
#      ours built by clang with -Werror=thread-safety (scripts/tsan.sh,
#      build-tsan/).
# Every stage runs even if an earlier one failed; the script fails if any did.
#
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R key_store -L e2e]
#   (given to the ctest of stages 1 and 2)
# Environment: KSEF_BUILD_DIR, KSEF_PREFIX, KSEF_BUILD_TYPE (see build.sh),
#   KSEF_FORCE_APT (see install-deps.sh),
#   KSEF_SKIP_SANITIZE=1  skip stage 2 (quick local runs),
#   KSEF_SKIP_FUZZ=1      skip stage 3 (quick local runs),
#   KSEF_SKIP_TSAN=1      skip stage 4 (quick local runs),
#   KSEF_FUZZ_SECONDS     seconds per fuzz target (default 30, see fuzz.sh),
#   KSEF_ASAN_BUILD_DIR, KSEF_FUZZ_BUILD_DIR, KSEF_TSAN_BUILD_DIR (see
#   sanitize.sh, fuzz.sh, tsan.sh).
# The exit status is 0 only if every stage that ran passed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_BUILD_DIR:-${ROOT}/build}"

# haproxy is installed above: a test that finds it missing fails here
# instead of skipping (tests/support/haproxy.h).
export KSEF_REQUIRE_HAPROXY=1
# Likewise the client examples' tools (python3-grpcio, node and npm;
# tests/e2e/clients_e2e_test.cc): missing, that test fails instead of skipping.
export KSEF_REQUIRE_CLIENTS=1
# The same for prometheus and promtool (tests/support/prometheus.h,
# scripts/check-prometheus-rules.sh).
export KSEF_REQUIRE_PROMETHEUS=1
# systemd is installed above too: the unit's sandbox score is required here
# (tests/packaging/unit_security_test.sh skips it elsewhere without the tool).
export KSEF_REQUIRE_SYSTEMD_ANALYZE=1

step() { printf '\n==> %s\n' "$*"; }

results=()
overall=0
# Runs one stage, records its outcome and wall time, never stops the script.
stage() {
  local name="$1"
  shift
  local start=${SECONDS} status=0
  "$@" || status=$?
  local took=$((SECONDS - start))
  if [[ ${status} -eq 0 ]]; then
    results+=("${name}: passed (${took}s)")
  else
    results+=("${name}: FAILED with ${status} (${took}s)")
    overall=1
  fi
}

step "Installing Debian packages (scripts/install-deps.sh)"
bash "${ROOT}/scripts/install-deps.sh"

normal_suite() {
  step "Building (scripts/build.sh)"
  bash "${ROOT}/scripts/build.sh" || return
  step "Running the tests (ctest) with a test PostgreSQL server (scripts/with-test-pg.sh)"
  # --no-tests=error: a run that finds no test at all is a failure, not a pass.
  bash "${ROOT}/scripts/with-test-pg.sh" "${BUILD_DIR}/pg-test" \
    ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 --timeout 900 \
    --no-tests=error "$@"
}
stage "normal suite" normal_suite "$@"

if [[ "${KSEF_SKIP_SANITIZE:-0}" == "1" ]]; then
  results+=("sanitizer suite: skipped (KSEF_SKIP_SANITIZE=1)")
else
  step "The suite under ASan+UBSan (scripts/sanitize.sh)"
  stage "sanitizer suite" bash "${ROOT}/scripts/sanitize.sh" "$@"
fi

if [[ "${KSEF_SKIP_FUZZ:-0}" == "1" ]]; then
  results+=("fuzzers: skipped (KSEF_SKIP_FUZZ=1)")
else
  step "Fuzzing (scripts/fuzz.sh)"
  stage "fuzzers" bash "${ROOT}/scripts/fuzz.sh"
fi

if [[ "${KSEF_SKIP_TSAN:-0}" == "1" ]]; then
  results+=("thread sanitizer: skipped (KSEF_SKIP_TSAN=1)")
else
  step "Thread-safety analysis and the concurrency tests under TSan (scripts/tsan.sh)"
  stage "thread sanitizer" bash "${ROOT}/scripts/tsan.sh"
fi

step "Summary"
printf '  %s\n' "${results[@]}"
exit "${overall}"
