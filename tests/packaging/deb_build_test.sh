#!/usr/bin/env bash
# Builds the Debian package from the build tree (cpack -G DEB, the install
# rules of cmake/Packaging.cmake) into OUT_DIR, as ksef-hsm.deb there: the
# ctest fixture the other deb_* tests read. Fails if no package comes out.
#
# Usage: deb_build_test.sh BUILD_DIR OUT_DIR
set -euo pipefail

BUILD_DIR="$1"
OUT_DIR="$2"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

command -v cpack >/dev/null || fail "cpack not found (apt-get install cmake)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps not found (scripts/install-deps.sh: dpkg-dev)"
rm -rf "${OUT_DIR}"
mkdir -p "${OUT_DIR}"
# A fixed time stamp: the same tree gives the same package.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "${KSEF_SOURCE_DIR:-.}" log -1 --format=%ct 2>/dev/null || echo 0)}"
cpack -G DEB --config "${BUILD_DIR}/CPackConfig.cmake" -B "${OUT_DIR}" >"${OUT_DIR}/cpack.log" 2>&1 \
  || { cat "${OUT_DIR}/cpack.log" >&2; fail "cpack failed"; }
debs=("${OUT_DIR}"/ksef-hsm_*.deb)
[[ ${#debs[@]} -eq 1 && -f "${debs[0]}" ]] || { cat "${OUT_DIR}/cpack.log" >&2; fail "expected one ksef-hsm_*.deb in ${OUT_DIR}"; }
ln -sf "$(basename "${debs[0]}")" "${OUT_DIR}/ksef-hsm.deb"
printf 'built %s (%s bytes)\n' "${debs[0]}" "$(stat -c %s "${debs[0]}")"
dpkg-deb --info "${debs[0]}"
