#!/usr/bin/env bash
# Every test: installs the Debian packages, builds (and installs into the
# prefix, as the e2e tests may use the installed binaries), then runs ctest.
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

step "Running the tests (ctest)"
# --no-tests=error: a run that finds no test at all is a failure, not a pass.
exec ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 --timeout 900 \
  --no-tests=error "$@"
