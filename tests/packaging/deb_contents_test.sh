#!/usr/bin/env bash
# The package built by deb_build_test.sh, unpacked with dpkg -x: its control
# fields and file list, and both binaries run from the unpacked tree
# (--version, --help, the man pages rendered from the same help text, and
# ksef-hsmd --check-config on the example configuration it ships).
#
# Usage: deb_contents_test.sh DEB PROJECT_VERSION
set -euo pipefail

DEB="$1"
VERSION="$2"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
[[ -f "${DEB}" ]] || fail "no package ${DEB} (the fixture deb_build_test builds it)"

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

# --- control fields ---
field() { dpkg-deb --field "${DEB}" "$1"; }
[[ "$(field Package)" == "ksef-hsm" ]] || fail "Package is '$(field Package)'"
[[ "$(field Version)" == "${VERSION}-"* ]] || fail "Version '$(field Version)' is not ${VERSION}-<release>"
depends="$(field Depends)"
for lib in libgrpc++ libprotobuf libssl3 libsqlite3 libpq5 libxml2; do
  grep -q "${lib}" <<<"${depends}" || fail "Depends lacks ${lib} (dpkg-shlibdeps): ${depends}"
done
grep -q 'systemd | systemd-standalone-sysusers' <<<"${depends}" \
  || fail "Depends lacks systemd (systemd-sysusers in postinst): ${depends}"
[[ "$(field Recommends)" == *softhsm2* ]] || fail "Recommends lacks softhsm2"

# --- files ---
listing="$(dpkg-deb --contents "${DEB}")"
for path in ./usr/sbin/ksef-hsmd ./usr/bin/ksef-hsm \
  ./usr/share/man/man8/ksef-hsmd.8.gz ./usr/share/man/man1/ksef-hsm.1.gz \
  ./lib/systemd/system/ksef-hsmd.service ./usr/lib/sysusers.d/ksef-hsm.conf \
  ./usr/lib/tmpfiles.d/ksef-hsm.conf ./etc/ksef-hsm/ksef-hsmd.conf \
  ./etc/ksef-hsm/softhsm2.conf ./etc/ksef-hsm/policy.conf \
  ./usr/share/doc/ksef-hsm/copyright ./usr/share/doc/ksef-hsm/changelog.Debian.gz \
  ./usr/share/doc/ksef-hsm/configuration.md ./usr/share/doc/ksef-hsm/operations.md; do
  grep -q " ${path}\$" <<<"${listing}" || fail "the package lacks ${path}"
done
if grep -Eq ' \./(usr/local|home|root|tmp|work)/' <<<"${listing}"; then
  fail "the package holds files outside the Debian layout: ${listing}"
fi
dpkg-deb --control "${DEB}" "${WORK}/control"
diff <(printf '%s\n' /etc/ksef-hsm/ksef-hsmd.conf /etc/ksef-hsm/softhsm2.conf /etc/ksef-hsm/policy.conf | sort) \
  <(sort "${WORK}/control/conffiles") || fail "conffiles differ from the /etc files"
for script in postinst prerm postrm; do
  [[ -x "${WORK}/control/${script}" ]] || fail "no executable ${script}"
  sh -n "${WORK}/control/${script}" || fail "${script} is not valid sh"
done

# --- the binaries, from the unpacked tree ---
ROOT="${WORK}/root"
dpkg -x "${DEB}" "${ROOT}"
# postinst against the unpacked tree (DPKG_ROOT: systemd-sysusers and
# systemd-tmpfiles --root, no systemctl): the user and the private state and
# token directories, owned by it.
command -v systemd-sysusers >/dev/null || fail "systemd-sysusers not found (scripts/install-deps.sh: systemd)"
mkdir -p "${ROOT}/etc"
DPKG_ROOT="${ROOT}" sh "${WORK}/control/postinst" configure "" >"${WORK}/postinst.log" 2>&1 \
  || fail "postinst configure failed: $(cat "${WORK}/postinst.log")"
uid="$(awk -F: '$1 == "ksef-hsm" && $7 == "/usr/sbin/nologin" {print $3}' "${ROOT}/etc/passwd")"
[[ -n "${uid}" ]] || fail "postinst did not create the system user ksef-hsm: $(cat "${ROOT}/etc/passwd")"
for dir in /var/lib/ksef-hsm /var/lib/ksef-hsm/softhsm/tokens; do
  [[ "$(stat -c '%u %a' "${ROOT}${dir}")" == "${uid} 700" ]] \
    || fail "postinst: ${dir} is $(stat -c '%u %a' "${ROOT}${dir}" 2>&1), expected uid ${uid} mode 700"
done

daemon="${ROOT}/usr/sbin/ksef-hsmd"
cli="${ROOT}/usr/bin/ksef-hsm"
version_re="^ksef-hsmd ${VERSION//./\\.} \\(git [A-Za-z0-9._+-]+\\)\$"
"${daemon}" --version | grep -Eqx "${version_re}" || fail "ksef-hsmd --version: '$("${daemon}" --version)'"
"${cli}" --version | grep -Eqx "${version_re/ksef-hsmd/ksef-hsm}" || fail "ksef-hsm --version: '$("${cli}" --version)'"
[[ "$("${daemon}" --version | sed 's/^ksef-hsmd //')" == "$("${cli}" --version | sed 's/^ksef-hsm //')" ]] \
  || fail "the two binaries report different versions"
"${daemon}" --help >"${WORK}/daemon.help" || fail "ksef-hsmd --help failed"
"${cli}" --help >"${WORK}/cli.help" || fail "ksef-hsm --help failed"
head -n1 "${WORK}/daemon.help" | grep -q '^ksef-hsmd - ' || fail "ksef-hsmd --help: unexpected first line"
grep -q -- '--check-config' "${WORK}/daemon.help" || fail "ksef-hsmd --help lacks --check-config"
grep -q '^Commands:' "${WORK}/cli.help" || fail "ksef-hsm --help lacks its command list"

# --- man pages: rendered without groff warnings, and holding every indented
# line of --help (option lists, usage, examples: the man page is made from
# the same text) ---
check_man() {
  local page="$1" help="$2" rendered="${WORK}/$(basename "$1").txt" errors="${WORK}/man.err"
  MANWIDTH=200 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "${page}" >"${rendered}" 2>"${errors}" \
    || fail "man -l ${page} failed: $(cat "${errors}")"
  [[ ! -s "${errors}" ]] || fail "groff warnings for ${page}: $(cat "${errors}")"
  local squeezed="${WORK}/squeezed.txt" line missing=0
  tr -s ' ' <"${rendered}" | sed 's/^ //' >"${squeezed}"
  while IFS= read -r line; do
    [[ "${line}" == " "* ]] || continue
    line="$(tr -s ' ' <<<"${line}" | sed 's/^ //')"
    grep -qF -- "${line}" "${squeezed}" || { printf 'not in %s: %s\n' "${page}" "${line}" >&2; missing=1; }
  done <"${help}"
  [[ ${missing} -eq 0 ]] || fail "${page} lacks lines of --help (above)"
}
check_man "${ROOT}/usr/share/man/man8/ksef-hsmd.8.gz" "${WORK}/daemon.help"
check_man "${ROOT}/usr/share/man/man1/ksef-hsm.1.gz" "${WORK}/cli.help"
while read -r command; do
  "${cli}" "${command}" --help >"${WORK}/command.help" || fail "ksef-hsm ${command} --help failed"
  check_man "${ROOT}/usr/share/man/man1/ksef-hsm.1.gz" "${WORK}/command.help"
done < <(sed -n '/^Commands:/,/^$/p' "${WORK}/cli.help" | awk 'NF && /^  [a-z]/ {print $1}')

# --- ksef-hsmd --check-config on the shipped example configuration ---
# As shipped, it names files the operator creates (the PIN file first): a
# syntax error would be reported before that.
conf="${ROOT}/etc/ksef-hsm/ksef-hsmd.conf"
status=0
"${daemon}" --config "${conf}" --check-config >"${WORK}/check.out" 2>&1 || status=$?
[[ ${status} -eq 1 ]] || fail "check-config of the shipped file: exit ${status}: $(cat "${WORK}/check.out")"
grep -q '/etc/ksef-hsm/pin' "${WORK}/check.out" \
  || fail "check-config of the shipped file should only miss /etc/ksef-hsm/pin: $(cat "${WORK}/check.out")"
# With its paths moved into the unpacked tree and a PIN file (0600), valid.
moved="${WORK}/moved.conf"
sed -e "s#/etc/ksef-hsm/#${ROOT}/etc/ksef-hsm/#g" -e "s#/var/lib/ksef-hsm#${ROOT}/var/lib/ksef-hsm#g" \
  "${conf}" >"${moved}"
(umask 077 && printf '1234\n' >"${ROOT}/etc/ksef-hsm/pin")
"${daemon}" --config "${moved}" --check-config >"${WORK}/check.out" 2>&1 \
  || fail "check-config of the example with its files present: $(cat "${WORK}/check.out")"
grep -q 'is valid' "${WORK}/check.out" || fail "check-config: $(cat "${WORK}/check.out")"
printf 'package contents, binaries, man pages and example configuration: ok\n'
