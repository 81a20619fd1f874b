#!/usr/bin/env bash
# Creates a SoftHSM2 token for development and tests, with random PINs.
#
# Usage: softhsm-config/make-token.sh STATE_DIR [LABEL]
#   LABEL defaults to "ksef-hsm" (at most 32 bytes, the PKCS#11 label size).
#
# Creates:
#   STATE_DIR/softhsm/tokens/        token objects (SoftHSM2 file store)
#   STATE_DIR/softhsm/softhsm2.conf  SoftHSM2 configuration (from softhsm2.conf.in)
#   STATE_DIR/pin                    user PIN, mode 0600
#   STATE_DIR/so-pin                 security officer PIN, mode 0600
#
# Idempotent: an existing token with LABEL is left alone, and existing PIN
# files are reused. PINs are never printed. Note that softhsm2-util only takes
# the PINs as arguments, so they are visible in the process list for the
# fraction of a second the initialization takes: do this on a machine whose
# other local users you trust, which is what a development token is for.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
TEMPLATE="${SCRIPT_DIR}/softhsm2.conf.in"

log() { printf '[make-token] %s\n' "$*"; }
die() { printf '[make-token] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ $# -lt 1 || $# -gt 2 || -z "${1}" ]]; then
  printf 'usage: %s STATE_DIR [LABEL]\n' "$0" >&2
  exit 2
fi
LABEL="${2:-ksef-hsm}"
[[ -n "${LABEL}" ]] || die "the token label must not be empty"
(( $(printf '%s' "${LABEL}" | wc -c) <= 32 )) || die "token label '${LABEL}' is longer than 32 bytes"

command -v softhsm2-util >/dev/null 2>&1 \
  || die "softhsm2-util not found; install SoftHSM2 (scripts/install-deps.sh or apt-get install softhsm2)"
command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
[[ -r "${TEMPLATE}" ]] || die "template not found: ${TEMPLATE}"

mkdir -p "${1}"
STATE_DIR="$(cd "${1}" && pwd -P)"
SOFTHSM_DIR="${STATE_DIR}/softhsm"
TOKEN_DIR="${SOFTHSM_DIR}/tokens"
CONF="${SOFTHSM_DIR}/softhsm2.conf"
PIN_FILE="${STATE_DIR}/pin"
SO_PIN_FILE="${STATE_DIR}/so-pin"

# Token objects are secret-bearing: keep the whole tree private to the owner.
(umask 077 && mkdir -p "${TOKEN_DIR}")
chmod 700 "${SOFTHSM_DIR}" "${TOKEN_DIR}"

# (Re)write the configuration from the template; it only names paths.
template="$(<"${TEMPLATE}")"
# The quotes keep '&' in the path literal (bash 5.2 patsub_replacement).
conf_text="${template//@TOKEN_DIR@/"${TOKEN_DIR}"}"
tmp_conf="$(mktemp "${SOFTHSM_DIR}/.softhsm2.conf.XXXXXX")"
printf '%s\n' "${conf_text}" >"${tmp_conf}"
chmod 644 "${tmp_conf}"
mv -f "${tmp_conf}" "${CONF}"
export SOFTHSM2_CONF="${CONF}"

# True if the token with label $1 is initialized. softhsm2-util pads labels
# to 32 characters with spaces, so compare trimmed values.
token_exists() {
  softhsm2-util --show-slots 2>/dev/null | awk -v want="$1" '
    /^[[:space:]]*Label:/ {
      sub(/^[[:space:]]*Label:[[:space:]]*/, "")
      sub(/[[:space:]]+$/, "")
      if ($0 == want) found = 1
    }
    END { exit found ? 0 : 1 }'
}

# Writes a fresh random PIN to $1 unless it exists. umask 077 makes the file
# 0600 from the moment it is created; the rename makes it appear complete.
make_pin_file() {
  local path="$1" tmp
  if [[ -s "${path}" ]]; then
    chmod 600 "${path}"
    log "keeping existing ${path}"
    return
  fi
  tmp="$(umask 077 && mktemp "${path}.XXXXXX")"
  (umask 077 && openssl rand -hex 16 >"${tmp}")
  chmod 600 "${tmp}"
  mv -f "${tmp}" "${path}"
  log "wrote ${path} (mode 0600)"
}

if token_exists "${LABEL}"; then
  log "token '${LABEL}' already exists in ${TOKEN_DIR}; nothing to do"
  [[ -s "${PIN_FILE}" ]] || die "token '${LABEL}' exists but ${PIN_FILE} is missing; remove ${TOKEN_DIR} to start over"
  chmod 600 "${PIN_FILE}"
  [[ ! -e "${SO_PIN_FILE}" ]] || chmod 600 "${SO_PIN_FILE}"
  exit 0
fi

make_pin_file "${PIN_FILE}"
make_pin_file "${SO_PIN_FILE}"

log "initializing token '${LABEL}' in ${TOKEN_DIR}"
softhsm2-util --init-token --free --label "${LABEL}" \
  --pin "$(<"${PIN_FILE}")" --so-pin "$(<"${SO_PIN_FILE}")" >/dev/null

token_exists "${LABEL}" || die "softhsm2-util reported success but token '${LABEL}' is not listed"
log "token '${LABEL}' ready (SOFTHSM2_CONF=${CONF})"
