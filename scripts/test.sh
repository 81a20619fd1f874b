#!/usr/bin/env bash
# Every test: installs the Debian packages, builds (and installs into the
# prefix, as the e2e tests may use the installed binaries), starts a throwaway
# PostgreSQL server for the audit store tests (scripts/pg-test-server.sh,
# in ${BUILD_DIR}/pg-test; KSEF_TEST_PG), then runs ctest.
#
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R key_store -L e2e]
# Environment: KSEF_BUILD_DIR, KSEF_PREFIX, KSEF_BUILD_TYPE (see build.sh),
#   KSEF_FORCE_APT (see install-deps.sh).
# The exit status is ctest's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_BUILD_DIR:-${ROOT}/build}"

step() { printf '\n==> %s\n' "$*"; }

step "Installing Debian packages (scripts/install-deps.sh)"
bash "${ROOT}/scripts/install-deps.sh"

step "Building (scripts/build.sh)"
bash "${ROOT}/scripts/build.sh"

step "Starting the test PostgreSQL server (scripts/pg-test-server.sh)"
# A throwaway cluster for the PostgreSQL audit store tests, which fail
# without KSEF_TEST_PG; it is stopped when this script exits.
PG_TEST_DIR="${BUILD_DIR}/pg-test"
trap 'bash "${ROOT}/scripts/pg-test-server.sh" stop "${PG_TEST_DIR}" || true' EXIT
pg_env="$(bash "${ROOT}/scripts/pg-test-server.sh" start "${PG_TEST_DIR}")"
eval "${pg_env}"
export KSEF_TEST_PG
echo "KSEF_TEST_PG=${KSEF_TEST_PG}"

step "Running the tests (ctest)"
# --no-tests=error: a run that finds no test at all is a failure, not a pass.
# Not exec: the EXIT trap stops the PostgreSQL server afterwards.
status=0
ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 --timeout 900 \
  --no-tests=error "$@" || status=$?
exit "${status}"
