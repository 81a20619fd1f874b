#!/usr/bin/env bash
# lintian on the package built by deb_build_test.sh: no error (E:) is
# allowed, and every override in packaging/lintian-overrides must still be
# used (an override that matches nothing hides nothing and is removed).
#
# Usage: deb_lintian_test.sh DEB
set -euo pipefail

DEB="$1"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

command -v lintian >/dev/null || fail "lintian not found (scripts/install-deps.sh installs it)"
[[ -f "${DEB}" ]] || fail "no package ${DEB} (the fixture deb_build_test builds it)"

# lintian refuses to run as root unless told it may.
status=0
output="$(lintian --allow-root --display-info --show-overrides --tag-display-limit 0 \
  --fail-on error "${DEB}" 2>&1)" || status=$?
printf '%s\n' "${output}"
if grep -q '^E: ' <<<"${output}"; then fail "lintian reported errors (E:) above"; fi
[[ ${status} -eq 0 ]] || fail "lintian exited with ${status}"
if grep -Eq 'unused-override|mismatched-override' <<<"${output}"; then
  fail "packaging/lintian-overrides has an override lintian no longer needs (see above)"
fi
printf 'lintian: no errors\n'
