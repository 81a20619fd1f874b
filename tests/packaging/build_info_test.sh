#!/usr/bin/env bash
# cmake/WriteBuildInfo.cmake, the source of GitRevision() (common/build_info.h):
#   - a git checkout: `git describe --always`, "-dirty" with a changed file;
#   - not a checkout, or a folder inside another repository: "unknown";
#   - characters that do not belong in a C string are replaced;
#   - an unchanged revision leaves the file untouched (nothing recompiles).
#
# Usage: build_info_test.sh SOURCE_DIR
set -euo pipefail

SRC="$1"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
command -v git >/dev/null || fail "git not found"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

# The revision written for source directory $1.
revision() {
  cmake -DSOURCE_DIR="$1" -DVERSION=9.8.7 -DTEMPLATE="${SRC}/common/build_info.cc.in" \
    -DOUTPUT="${WORK}/build_info.cc" -P "${SRC}/cmake/WriteBuildInfo.cmake" >/dev/null
  grep -q 'Version() { return "9.8.7"; }' "${WORK}/build_info.cc" || fail "version not written"
  sed -n 's/.*GitRevision() { return "\(.*\)"; }.*/\1/p' "${WORK}/build_info.cc"
}

mkdir -p "${WORK}/plain"
[[ "$(revision "${WORK}/plain")" == "unknown" ]] || fail "a plain directory is not 'unknown'"

repo="${WORK}/repo"
git init -q "${repo}"
git -C "${repo}" -c user.name=t -c user.email=t@example.invalid commit -q --allow-empty -m one
printf 'a\n' >"${repo}/file"
git -C "${repo}" add file
git -C "${repo}" -c user.name=t -c user.email=t@example.invalid commit -q -m two
head="$(git -C "${repo}" rev-parse HEAD)"
clean="$(revision "${repo}")"
[[ -n "${clean}" && "${head}" == "${clean}"* ]] || fail "clean checkout: '${clean}' is not a prefix of ${head}"

# Unchanged: the file keeps its time stamp.
touch -d '2000-01-01' "${WORK}/build_info.cc"
[[ "$(revision "${repo}")" == "${clean}" ]] || fail "revision changed without a change"
[[ "$(stat -c %Y "${WORK}/build_info.cc")" == "$(date -d 2000-01-01 +%s)" ]] \
  || fail "the file was rewritten although nothing changed"

printf 'b\n' >"${repo}/file"
[[ "$(revision "${repo}")" == "${clean}-dirty" ]] || fail "a changed file does not give '${clean}-dirty'"
git -C "${repo}" checkout -q -- file

mkdir -p "${repo}/sub"
[[ "$(revision "${repo}/sub")" == "unknown" ]] || fail "a folder inside another repository is not 'unknown'"

git -C "${repo}" -c user.name=t -c user.email=t@example.invalid tag -a -m release 'v1"x'
[[ "$(revision "${repo}")" == 'v1_x' ]] || fail "tag with a quote: '$(revision "${repo}")', expected v1_x"
printf 'build info: ok\n'
