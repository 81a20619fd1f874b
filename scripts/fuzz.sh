#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, -DKSEF_FUZZ=ON with clang) in
# their own tree and runs each for a bounded time from its seed corpus
# (tests/fuzz/corpus/<name>/, plus <name>.dict when present).
#
# Usage: scripts/fuzz.sh [TARGET...]   (default: every *_fuzzer; names
#                                       without the _fuzzer suffix)
# Environment:
#   KSEF_FUZZ_BUILD_DIR  build tree                     (default: <repo>/build-fuzz)
#   KSEF_FUZZ_SECONDS    run time per target, seconds   (default: 30)
#   KSEF_FUZZ_TIMEOUT    one input slower than this, seconds, is a finding (default: 10)
#   KSEF_FUZZ_RSS_MB     memory limit per target, MB    (default: 2048)
#   CCACHE_DISABLE=1     build without ccache (ccache is used when installed)
# New inputs the fuzzer finds go to <build>/fuzz-corpus/<name>/ (the seed
# corpus in the repository is only read). Any crash, leak, sanitizer report,
# timeout or out-of-memory fails the script, which prints the reproducer
# (<build>/fuzz-artifacts/<name>/crash-..., rerun with
# "<build>/tests/fuzz/<name>_fuzzer <file>"). Exit status: 0 if every target
# ran clean, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

BUILD_DIR="${KSEF_FUZZ_BUILD_DIR:-${ROOT}/build-fuzz}"
SECONDS_EACH="${KSEF_FUZZ_SECONDS:-30}"
TIMEOUT="${KSEF_FUZZ_TIMEOUT:-10}"
RSS_MB="${KSEF_FUZZ_RSS_MB:-2048}"
JOBS="$(nproc)"
FUZZ_SRC="${ROOT}/tests/fuzz"

log() { printf '[fuzz] %s\n' "$*"; }
die() { printf '[fuzz] ERROR: %s\n' "$*" >&2; exit 1; }

for n in "${SECONDS_EACH}" "${TIMEOUT}" "${RSS_MB}"; do
  [[ "${n}" =~ ^[1-9][0-9]*$ ]] || die "KSEF_FUZZ_SECONDS/TIMEOUT/RSS_MB must be positive integers"
done
command -v clang++ >/dev/null 2>&1 || die "clang++ not found: run scripts/install-deps.sh"

launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "${ROOT}")}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

log "configure: ${BUILD_DIR} (clang, -DKSEF_FUZZ=ON)"
cmake -S "${ROOT}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DKSEF_FUZZ=ON -DKSEF_WERROR=ON "${launcher[@]}"
log "build with ${JOBS} jobs"
cmake --build "${BUILD_DIR}" -j "${JOBS}"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in "${FUZZ_SRC}"/*_fuzzer.cc; do
    name="$(basename "${src}" _fuzzer.cc)"
    targets+=("${name}")
  done
fi

# Leaks are findings; the symbolizer makes the reports readable.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

failed=()
for name in "${targets[@]}"; do
  binary="${BUILD_DIR}/tests/fuzz/${name}_fuzzer"
  [[ -x "${binary}" ]] || die "no fuzz target ${binary} (targets: tests/fuzz/*_fuzzer.cc)"
  seeds="${FUZZ_SRC}/corpus/${name}"
  [[ -d "${seeds}" ]] || die "no seed corpus ${seeds}"
  work="${BUILD_DIR}/fuzz-corpus/${name}"
  artifacts="${BUILD_DIR}/fuzz-artifacts/${name}"
  log_file="${BUILD_DIR}/fuzz-logs/${name}.log"
  mkdir -p "${work}" "${artifacts}" "$(dirname "${log_file}")"
  dict=()
  if [[ -f "${FUZZ_SRC}/${name}.dict" ]]; then dict=("-dict=${FUZZ_SRC}/${name}.dict"); fi
  stamp="${artifacts}/.started"
  touch "${stamp}"

  log "${name}: ${SECONDS_EACH}s (log: ${log_file})"
  # The first corpus directory receives the new inputs; the seeds are read only.
  status=0
  "${binary}" "${work}" "${seeds}" "${dict[@]}" \
    -max_total_time="${SECONDS_EACH}" -timeout="${TIMEOUT}" -rss_limit_mb="${RSS_MB}" \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="${artifacts}/" \
    >"${log_file}" 2>&1 || status=$?
  if [[ ${status} -ne 0 ]]; then
    tail -n 60 "${log_file}" >&2
    reproducer="$(find "${artifacts}" -type f -newer "${stamp}" | head -n 1)"
    log "${name}: FAILED (exit ${status}); reproducer: ${reproducer:-none saved}"
    if [[ -n "${reproducer}" ]]; then log "  rerun: ${binary} ${reproducer}"; fi
    failed+=("${name}")
  else
    log "${name}: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "${log_file}" |
      grep -Eo '[0-9]+$' || echo '?') runs)"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all ${#targets[@]} targets ran ${SECONDS_EACH}s without a finding"
