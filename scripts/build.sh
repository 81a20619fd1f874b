#!/usr/bin/env bash
# Configures and builds ksef-hsm with CMake, then installs the binaries
# (ksef-hsmd, ksef-hsm) into a prefix inside the repository.
#
# Usage: scripts/build.sh
# Environment:
#   KSEF_BUILD_DIR   build tree        (default: <repo>/build)
#   KSEF_PREFIX      install prefix    (default: <repo>/.local -> .local/bin/ksef-hsmd)
#   KSEF_BUILD_TYPE  CMake build type  (default: RelWithDebInfo)
#   CCACHE_BASEDIR   used when ccache is installed (default: the parent of the repository)
# Relative paths in these variables are taken relative to the repository root.
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
cmake -S "${ROOT}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE="${BUILD_TYPE}" "${launcher[@]}"

log "build with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" -j "${JOBS}"

log "install into ${PREFIX}"
cmake --install "${BUILD_DIR}" --prefix "${PREFIX}"

log "done: binaries in ${PREFIX}/bin"
