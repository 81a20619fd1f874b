#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server for the audit store tests
# (scripts/pg-test-server.sh): starts the server in DIR, exports KSEF_TEST_PG,
# runs the command, stops the server again (also when the command fails or
# the script is interrupted) and exits with the command's status.
#
# Usage: scripts/with-test-pg.sh DIR COMMAND [ARGS...]
#   e.g. scripts/with-test-pg.sh build/pg-test ctest --test-dir build
# Environment: as scripts/pg-test-server.sh (KSEF_PG_BIN, KSEF_PG_PORT).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

if [[ $# -lt 2 ]]; then
  printf '[with-test-pg] usage: %s DIR COMMAND [ARGS...]\n' "$0" >&2
  exit 2
fi
PG_TEST_DIR="$1"
shift

trap 'bash "${ROOT}/scripts/pg-test-server.sh" stop "${PG_TEST_DIR}" || true' EXIT
pg_env="$(bash "${ROOT}/scripts/pg-test-server.sh" start "${PG_TEST_DIR}")"
eval "${pg_env}"
export KSEF_TEST_PG
echo "KSEF_TEST_PG=${KSEF_TEST_PG}"

# Not exec: the EXIT trap stops the server afterwards.
status=0
"$@" || status=$?
exit "${status}"
