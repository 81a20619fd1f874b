#!/usr/bin/env bash
# The whole tour on a fresh Debian 12 machine: install packages, build, create
# the embedded default (SoftHSM2 token + local mTLS PKI), start ksef-hsmd,
# create and inspect a KSeF authentication key with the CLI, enroll it (CSR ->
# local test CA -> import -> ACTIVE), sign a KSeF log-in (XAdES, checked with
# xmlsec1), make the QR codes of an offline invoice with an Offline key
# (KOD II checked with zbarimg), show and verify the audit log, stop the server.
#
# Usage: scripts/demo.sh
# Environment:
#   KSEF_STATE_DIR  embedded default state (default: <repo>/.state)
#   KSEF_PREFIX     install prefix of build.sh (default: <repo>/.local)
#   KSEF_HSM_PORT   server port when the state is first created (default 7443)
#   KSEF_BUILD_DIR, KSEF_FORCE_APT: see build.sh and install-deps.sh
# Relative paths in these variables are taken relative to the repository root.
# Exits non-zero on any failure; the server is always stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

STATE_DIR="${KSEF_STATE_DIR:-${ROOT}/.state}"
PREFIX="${KSEF_PREFIX:-${ROOT}/.local}"
readonly HEALTH_TIMEOUT_S=30
readonly STOP_TIMEOUT_S=45  # a little above the server's default shutdown_timeout (30s)
readonly DEMO_NIP=5265877635

step() { printf '\n==> %s\n' "$*"; }
log() { printf '[demo] %s\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }

# A path as short as possible for display: relative to the repo when inside it.
show_path() {
  local p="$1"
  if [[ "${p}" == "${ROOT}/"* ]]; then printf '%s' "${p#"${ROOT}/"}"; else printf '%s' "${p}"; fi
}

step "Installing Debian packages (scripts/install-deps.sh)"
bash "${ROOT}/scripts/install-deps.sh"

step "Building and installing into $(show_path "${PREFIX}") (scripts/build.sh)"
KSEF_PREFIX="${PREFIX}" bash "${ROOT}/scripts/build.sh"

step "Creating the embedded default in $(show_path "${STATE_DIR}") (scripts/embedded-default.sh)"
bash "${ROOT}/scripts/embedded-default.sh" "${STATE_DIR}"
STATE_DIR="$(cd "${STATE_DIR}" && pwd -P)"
PREFIX="$(cd "${PREFIX}" && pwd -P)"

SERVER_BIN="${PREFIX}/sbin/ksef-hsmd"
CLI_BIN="${PREFIX}/bin/ksef-hsm"
SERVER_CONF="${STATE_DIR}/ksef-hsmd.conf"
CLIENT_CONF="${STATE_DIR}/client.conf"
LOG_FILE="${STATE_DIR}/ksef-hsmd.log"
for bin in "${SERVER_BIN}" "${CLI_BIN}"; do
  [[ -x "${bin}" ]] || die "${bin} was not installed by scripts/build.sh"
done
CLI=("${CLI_BIN}" --config "${CLIENT_CONF}")
CLI_SHOWN="$(show_path "${CLI_BIN}") --config $(show_path "${CLIENT_CONF}")"

server_pid=""
log_start_line=0

# True while process $1 exists and is not a zombie (our un-reaped child
# still answers kill -0, so ask ps for its state).
is_running() {
  local stat
  stat="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "${stat}" && "${stat}" != Z* ]]
}

print_log_tail() {
  if [[ -f "${LOG_FILE}" ]]; then
    printf '\n----- last lines of %s -----\n' "$(show_path "${LOG_FILE}")" >&2
    tail -n +"$((log_start_line + 1))" "${LOG_FILE}" | tail -n 40 >&2
    printf -- '----- end of log -----\n' >&2
  fi
}

# Sends SIGTERM, waits up to STOP_TIMEOUT_S (then SIGKILL); returns the
# server's exit status.
stop_server() {
  local pid="${server_pid}" rc=0 waited=0
  [[ -n "${pid}" ]] || return 0
  server_pid=""
  if is_running "${pid}"; then
    log "stopping ksef-hsmd (pid ${pid}) with SIGTERM"
    kill -TERM "${pid}" 2>/dev/null || true
    while is_running "${pid}" && (( waited < STOP_TIMEOUT_S * 10 )); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if is_running "${pid}"; then
      log "ksef-hsmd did not stop within ${STOP_TIMEOUT_S}s; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
  fi
  wait "${pid}" 2>/dev/null || rc=$?
  return "${rc}"
}

on_exit() {
  local rc=$?
  if [[ -n "${server_pid}" ]]; then
    stop_server || true
  fi
  if (( rc != 0 )); then
    printf '\n[demo] FAILED (exit status %d)\n' "${rc}" >&2
  fi
  exit "${rc}"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_with_log() {
  printf '[demo] ERROR: %s\n' "$*" >&2
  print_log_tail
  exit 1
}

health_ok() { timeout 5 "${CLI[@]}" health >/dev/null 2>&1; }

# Echoes the CLI command, runs it, keeps its output in $cli_output.
cli_output=""
run_cli() {
  printf '\n$ %s' "${CLI_SHOWN}"
  printf ' %q' "$@"
  printf '\n'
  if ! cli_output="$("${CLI[@]}" "$@" 2>&1)"; then
    printf '%s\n' "${cli_output}"
    fail_with_log "'ksef-hsm $1' failed"
  fi
  printf '%s\n' "${cli_output}"
}

step "Starting ksef-hsmd (log: $(show_path "${LOG_FILE}"))"
if health_ok; then
  die "a server already answers at the address in $(show_path "${CLIENT_CONF}"); stop it first (or set KSEF_HSM_PORT with a new KSEF_STATE_DIR)"
fi
# The server log may name keys and callers: private, like the rest of the state.
(umask 077 && touch "${LOG_FILE}")
chmod 600 "${LOG_FILE}"
log_start_line="$(wc -l <"${LOG_FILE}")"
printf '=== %s scripts/demo.sh starts ksef-hsmd ===\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"${LOG_FILE}"
printf '$ %s --config %s &\n' "$(show_path "${SERVER_BIN}")" "$(show_path "${SERVER_CONF}")"
"${SERVER_BIN}" --config "${SERVER_CONF}" >>"${LOG_FILE}" 2>&1 </dev/null &
server_pid=$!
log "ksef-hsmd pid ${server_pid}; waiting up to ${HEALTH_TIMEOUT_S}s for '${CLI_SHOWN} health'"

deadline=$((SECONDS + HEALTH_TIMEOUT_S))
until health_ok; do
  is_running "${server_pid}" || fail_with_log "ksef-hsmd exited during start-up"
  (( SECONDS < deadline )) || fail_with_log "ksef-hsmd was not healthy after ${HEALTH_TIMEOUT_S}s"
  sleep 0.5
done
is_running "${server_pid}" || fail_with_log "ksef-hsmd exited during start-up"
log "ksef-hsmd is serving"

step "Demo: a KSeF authentication key generated inside the token"
KEY_ID="demo-auth-$(date -u +%Y%m%d-%H%M%S)"
DEMO_CHALLENGE="20250514-CR-226FB7B000-3ACF9BE4C0-10"
run_cli create-key --key-id "${KEY_ID}" --subject-type nip --subject "${DEMO_NIP}" \
  --purpose authentication
run_cli list-keys
run_cli get-key "${KEY_ID}"
[[ "${cli_output}" == *"${KEY_ID}"* ]] || fail_with_log "get-key output does not mention ${KEY_ID}"
run_cli public-key "${KEY_ID}"
[[ "${cli_output}" == *"BEGIN PUBLIC KEY"* ]] || fail_with_log "public-key printed no PEM public key"

step "Demo: enrollment, key -> CSR -> certificate -> ACTIVE"
ENROLL_DIR="${STATE_DIR}/enrollment/${KEY_ID}"
mkdir -p "${ENROLL_DIR}"
log "examples/enrollment-data.json stands in for KSeF's GET /certificates/enrollments/data"
run_cli csr "${KEY_ID}" --enrollment-data "${ROOT}/examples/enrollment-data.json" \
  --certificate-name "ksef-hsm demo" --format pem --out "${ENROLL_DIR}/request.csr"
run_cli csr "${KEY_ID}" --enrollment-data "${ROOT}/examples/enrollment-data.json" \
  --certificate-name "ksef-hsm demo"
[[ "${cli_output}" == *'"certificateType":"Authentication"'* ]] \
  || fail_with_log "csr did not print the POST /certificates/enrollments body"
openssl req -in "${ENROLL_DIR}/request.csr" -noout -verify 2>&1 | grep -q "verify OK" \
  || fail_with_log "the CSR does not verify with openssl req -verify"
log "openssl req -verify: the CSR signature made in the token verifies"
log "KSeF is not called here: a LOCAL TEST CA (NOT KSeF) issues the certificate"
run_cli test-ca issue --ca-dir "${STATE_DIR}/test-ca" --csr "${ENROLL_DIR}/request.csr" \
  --type authentication --out "${ENROLL_DIR}/certificate.pem"
run_cli import-cert "${KEY_ID}" --cert "${ENROLL_DIR}/certificate.pem"
run_cli get-key "${KEY_ID}"
[[ "${cli_output}" == *"state:"*active* ]] || fail_with_log "the key is not ACTIVE after import-cert"

step "Demo: a KSeF log-in signed in the token (AuthTokenRequest, XAdES-BES)"
log "the challenge stands in for KSeF's POST /auth/challenge answer"
run_cli auth-sign "${KEY_ID}" --challenge "${DEMO_CHALLENGE}" --nip "${DEMO_NIP}" \
  --out "${ENROLL_DIR}/auth-token-request.xml"
xmlsec1 --verify --pubkey-cert-pem "${ENROLL_DIR}/certificate.pem" \
  --id-attr:Id "http://uri.etsi.org/01903/v1.3.2#:SignedProperties" \
  "${ENROLL_DIR}/auth-token-request.xml" 2>&1 | grep -q "^OK" \
  || fail_with_log "the signed AuthTokenRequest does not verify with xmlsec1"
log "xmlsec1 --verify: the XAdES signature made in the token verifies"
log "$(show_path "${ENROLL_DIR}/auth-token-request.xml") is the body for POST /auth/xades-signature"

step "Demo: an offline invoice's QR codes (KOD I + KOD II signed in the token)"
OFFLINE_ID="demo-offline-$(date -u +%Y%m%d-%H%M%S)"
OFFLINE_DIR="${STATE_DIR}/offline/${OFFLINE_ID}"
mkdir -p "${OFFLINE_DIR}"
run_cli create-key --key-id "${OFFLINE_ID}" --subject-type nip --subject "${DEMO_NIP}" \
  --purpose offline
run_cli csr "${OFFLINE_ID}" --enrollment-data "${ROOT}/examples/enrollment-data.json" \
  --certificate-name "ksef-hsm demo offline" --format pem --out "${OFFLINE_DIR}/request.csr"
run_cli test-ca issue --ca-dir "${STATE_DIR}/test-ca" --csr "${OFFLINE_DIR}/request.csr" \
  --type offline --out "${OFFLINE_DIR}/certificate.pem"
run_cli import-cert "${OFFLINE_ID}" --cert "${OFFLINE_DIR}/certificate.pem"
log "examples/invoice-fa3.xml is a sample FA(3) invoice issued offline"
run_cli qr "${OFFLINE_ID}" --nip "${DEMO_NIP}" --out-dir "${OFFLINE_DIR}" \
  "${ROOT}/examples/invoice-fa3.xml"
kod_ii_link="$(zbarimg --raw -q "${OFFLINE_DIR}/invoice-fa3.kod-ii.png" 2>/dev/null || true)"
[[ "${kod_ii_link}" == https://qr-test.ksef.mf.gov.pl/certificate/Nip/* ]] \
  || fail_with_log "the KOD II image does not decode to a KOD II link (zbarimg)"
log "zbarimg reads the KOD II image back: ${kod_ii_link}"
log "images: $(show_path "${OFFLINE_DIR}")/invoice-fa3.kod-i.png (label OFFLINE), .kod-ii.png (label CERTYFIKAT), and .svg"

step "Demo: the audit log of everything above"
run_cli audit list --key "${KEY_ID}"
run_cli audit list --key "${OFFLINE_ID}"
run_cli audit verify

step "Stopping ksef-hsmd"
stop_rc=0
stop_server || stop_rc=$?
if (( stop_rc != 0 )); then
  fail_with_log "ksef-hsmd exited with status ${stop_rc} after SIGTERM (expected 0)"
fi
log "ksef-hsmd stopped cleanly"

step "Done"
cat <<TXT
The token, its PINs, the key registry and the certificates stay in $(show_path "${STATE_DIR}")/.
Start the server again:  $(show_path "${SERVER_BIN}") --config $(show_path "${SERVER_CONF}")
Then use the CLI:        ${CLI_SHOWN} list-keys
                         $(show_path "${CLI_BIN}") --help
TXT
