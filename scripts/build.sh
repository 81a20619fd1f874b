#!/usr/bin/env bash
# Configures and builds ksef-hsm with CMake, then installs the binaries
# (sbin/ksef-hsmd, bin/ksef-hsm) and their man pages into a prefix inside the
# repository. The Debian package: docs/operations.md, section 1.
#
# Usage: scripts/build.sh
# Environment:
#   KSEF_BUILD_DIR   build tree        (default: <repo>/build)
#   KSEF_PREFIX      install prefix    (default: <repo>/.local -> .local/sbin/ksef-hsmd)
#   KSEF_BUILD_TYPE  CMake build type  (default: RelWithDebInfo)
#   CCACHE_BASEDIR   used when ccache is installed (default: the parent of the repository)
# Relative paths in these variables are taken relative to the repository root.
# Warnings in our code are errors here (-DKSEF_WERROR=ON), as in CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_BUILD_DIR:-${ROOT}/build}"
PREFIX="${KSEF_PREFIX:-${ROOT}/.local}"
BUILD_TYPE="${KSEF_BUILD_TYPE:-RelWithDebInfo}"
JOBS="$(nproc)"

log() { printf '[build] %s\n' "$*"; }

# ccache, when installed, makes rebuilds (and other checkouts' builds, with
# CCACHE_BASEDIR) cheap; it is optional and changes no output.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "${ROOT}")}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

log "configure: ${BUILD_DIR} (${BUILD_TYPE})"
cmake -S "${ROOT}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE="${BUILD_TYPE}" -DKSEF_WERROR=ON "${launcher[@]}"

log "build with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" -j "${JOBS}"

log "install into ${PREFIX}"
cmake --install "${BUILD_DIR}" --prefix "${PREFIX}"

log "done: ${PREFIX}/sbin/ksef-hsmd, ${PREFIX}/bin/ksef-hsm"
