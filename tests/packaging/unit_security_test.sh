#!/usr/bin/env bash
# The systemd unit of the package (packaging/ksef-hsmd.service):
#   - systemd-analyze security --offline=yes scores its sandbox at most 2.0
#     (issue 16; `systemd-analyze security` has --offline since systemd 250);
#   - it agrees with the files beside it: User= is the sysusers.d user,
#     StateDirectory= is the example config's state_dir and the tmpfiles.d
#     directory, the SoftHSM2 token directory lies inside it, ExecStart reads
#     the shipped config, and ExecReload sends SIGHUP (the policy reload).
# Without systemd-analyze the score is skipped (exit 77) unless
# KSEF_REQUIRE_SYSTEMD_ANALYZE is set (scripts/test.sh sets it): then it fails.
#
# Usage: unit_security_test.sh SOURCE_DIR
set -euo pipefail

PKG="$1/packaging"
UNIT="${PKG}/ksef-hsmd.service"
MAX_EXPOSURE="2.0"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# The value of "Key=value" in a file (the last one wins, as in systemd).
value() { sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1; }

user="$(value "${UNIT}" User)"
state="$(value "${UNIT}" StateDirectory)"
[[ -n "${user}" && -n "${state}" ]] || fail "the unit needs User= and StateDirectory="
grep -Eq "^u ${user} " "${PKG}/sysusers.conf" || fail "sysusers.conf does not create User=${user}"
[[ "$(value "${PKG}/ksef-hsmd.conf" state_dir)" == "/var/lib/${state}" ]] \
  || fail "ksef-hsmd.conf state_dir is not /var/lib/${state} (StateDirectory=${state})"
grep -Eq "^d /var/lib/${state} +0700 ${user} ${user} " "${PKG}/tmpfiles.conf" \
  || fail "tmpfiles.conf does not create /var/lib/${state} 0700 for ${user}"
tokendir="$(value "${PKG}/softhsm2.conf" directories.tokendir)"
[[ "$(value "${PKG}/ksef-hsmd.conf" token_store_dir)" == "${tokendir}" ]] \
  || fail "token_store_dir differs from softhsm2.conf's directories.tokendir"
[[ "${tokendir}" == "/var/lib/${state}/"* ]] \
  || fail "the token directory ${tokendir} is outside the state directory (not writable under ProtectSystem=strict)"
grep -Eq "^d ${tokendir} +0700 ${user} ${user} " "${PKG}/tmpfiles.conf" \
  || fail "tmpfiles.conf does not create the token directory ${tokendir}"
[[ "$(value "${PKG}/ksef-hsmd.conf" softhsm2_conf)" == /etc/ksef-hsm/softhsm2.conf ]] \
  || fail "ksef-hsmd.conf does not use the shipped /etc/ksef-hsm/softhsm2.conf"
[[ "$(value "${UNIT}" ExecStart)" == "/usr/sbin/ksef-hsmd --config /etc/ksef-hsm/ksef-hsmd.conf" ]] \
  || fail "ExecStart does not run /usr/sbin/ksef-hsmd on /etc/ksef-hsm/ksef-hsmd.conf"
[[ "$(value "${UNIT}" ExecReload)" == '/bin/kill -HUP $MAINPID' ]] || fail "ExecReload does not send SIGHUP"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  reason="systemd-analyze not found (apt-get install systemd)"
  if [[ -n "${KSEF_REQUIRE_SYSTEMD_ANALYZE:-}" && "${KSEF_REQUIRE_SYSTEMD_ANALYZE}" != "0" ]]; then
    fail "${reason}; KSEF_REQUIRE_SYSTEMD_ANALYZE is set"
  fi
  printf 'SKIPPED: %s; the unit checks above passed\n' "${reason}"
  exit 77
fi
report="$(systemd-analyze security --offline=yes --no-pager "${UNIT}" 2>&1)" \
  || { printf '%s\n' "${report}"; fail "systemd-analyze security failed"; }
printf '%s\n' "${report}"
exposure="$(sed -n 's/^.*Overall exposure level for ksef-hsmd.service: \([0-9.]*\).*$/\1/p' <<<"${report}")"
[[ -n "${exposure}" ]] || fail "no overall exposure level in the report"
awk -v e="${exposure}" -v max="${MAX_EXPOSURE}" 'BEGIN { exit !(e <= max) }' \
  || fail "exposure ${exposure} is above ${MAX_EXPOSURE}"
printf 'exposure %s <= %s\n' "${exposure}" "${MAX_EXPOSURE}"
