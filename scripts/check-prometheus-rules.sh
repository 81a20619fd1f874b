#!/usr/bin/env bash
# Checks the shipped Prometheus alert rules (ctest prometheus_rules_test,
# label ops): `promtool check rules` on packaging/prometheus/ksef-hsm-rules.yml
# and `promtool test rules` on its unit tests (ksef-hsm-rules.test.yml: each
# alert fires on the series it is meant for, and not on a healthy server).
# Without promtool: exit 77 (ctest: skipped) unless KSEF_REQUIRE_PROMETHEUS
# is set (scripts/test.sh sets it), then a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
RULES="${ROOT}/packaging/prometheus"

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not installed: run scripts/install-deps.sh (apt-get install prometheus)" >&2
  if [[ -n "${KSEF_REQUIRE_PROMETHEUS:-}" && "${KSEF_REQUIRE_PROMETHEUS}" != 0 ]]; then
    exit 1
  fi
  echo "skipped because KSEF_REQUIRE_PROMETHEUS is unset (scripts/test.sh sets it)" >&2
  exit 77
fi
promtool check rules "${RULES}/ksef-hsm-rules.yml"
cd "${RULES}"
promtool test rules ksef-hsm-rules.test.yml
