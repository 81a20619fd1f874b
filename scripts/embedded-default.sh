#!/usr/bin/env bash
# The embedded default: everything ksef-hsmd and the ksef-hsm CLI need to run
# on one machine, with a SoftHSM2 token instead of a hardware HSM and a local
# development PKI for mutual TLS. For development and demos, not production.
#
# Usage: scripts/embedded-default.sh STATE_DIR
# Environment:
#   KSEF_HSM_PORT     port for the server to listen on (default 7443; used
#                     only when the config files are written for the first time)
#   KSEF_TOKEN_LABEL  token label (default ksef-hsm; same rule)
#
# Creates in STATE_DIR (each piece only if it is not there yet):
#   softhsm/         SoftHSM2 config and token store   (softhsm-config/make-token.sh)
#   pin, so-pin      token PINs, mode 0600
#   pki/             local CA, server and client certs (scripts/dev-pki.sh)
#   ksef-hsmd.conf   server config    -> ksef-hsmd --config STATE_DIR/ksef-hsmd.conf
#   client.conf      CLI config       -> ksef-hsm --config STATE_DIR/client.conf <command>
#   policy.conf      access policy: the local CLI certificate may do everything
# Both configs use paths relative to STATE_DIR, so the directory can be moved.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

log() { printf '[embedded-default] %s\n' "$*"; }
die() { printf '[embedded-default] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ $# -ne 1 || -z "${1}" ]]; then
  printf 'usage: %s STATE_DIR\n' "$0" >&2
  exit 2
fi

PORT="${KSEF_HSM_PORT:-7443}"
if ! [[ "${PORT}" =~ ^[0-9]{1,5}$ ]] || (( 10#${PORT} < 1 || 10#${PORT} > 65535 )); then
  die "KSEF_HSM_PORT must be a port number (1-65535), got '${PORT}'"
fi
PORT=$((10#${PORT}))
LABEL="${KSEF_TOKEN_LABEL:-ksef-hsm}"
SOFTHSM_MODULE="/usr/lib/softhsm/libsofthsm2.so"

# A new state directory is private to its owner; an existing one is left as it is.
[[ -d "${1}" ]] || (umask 077 && mkdir -p "${1}")
STATE_DIR="$(cd "${1}" && pwd -P)"

bash "${ROOT}/softhsm-config/make-token.sh" "${STATE_DIR}" "${LABEL}"
bash "${ROOT}/scripts/dev-pki.sh" "${STATE_DIR}"

[[ -e "${SOFTHSM_MODULE}" ]] \
  || log "WARNING: ${SOFTHSM_MODULE} not found; install softhsm2 (scripts/install-deps.sh)"

# write_once PATH: stdin becomes PATH unless PATH already exists.
write_once() {
  local path="$1" tmp
  if [[ -e "${path}" ]]; then
    log "keeping existing ${path}"
    cat >/dev/null
    return
  fi
  tmp="$(mktemp "${path}.XXXXXX")"
  cat >"${tmp}"
  chmod 600 "${tmp}"  # the state directory is private; configs need no group access
  mv -f "${tmp}" "${path}"
  log "wrote ${path}"
}

write_once "${STATE_DIR}/ksef-hsmd.conf" <<CONF
# ksef-hsmd configuration written by scripts/embedded-default.sh:
# SoftHSM2 token + local development PKI. Not for production.
# Every option is described in docs/configuration.md.
# Relative paths are resolved against this file's directory.

# --- network: mutual TLS on loopback ---
listen_address = 127.0.0.1:${PORT}
tls_cert_file = pki/server.pem
tls_key_file = pki/server.key
tls_client_ca_file = pki/ca.pem
require_client_cert = true

# --- HSM: the SoftHSM2 token made by softhsm-config/make-token.sh ---
pkcs11_module = ${SOFTHSM_MODULE}
token_label = ${LABEL}
pin_file = pin
softhsm2_conf = softhsm/softhsm2.conf
token_store_dir = softhsm/tokens

# --- state: key registry in ./keys.db, audit log in ./audit.db ---
state_dir = .

# --- access control: who may do what (docs/configuration.md, "Policy file") ---
policy_file = policy.conf

# --- operations ---
log_level = info
log_format = text
CONF

write_once "${STATE_DIR}/policy.conf" <<'POLICY'
# ksef-hsm access policy written by scripts/embedded-default.sh.
# Deny by default: only what is granted here is allowed. Reload: kill -HUP <pid>.
# The local CLI certificate (pki/client.pem) may do everything on every key.
identity local-cli subject="CN=ksef-hsm-cli" issuer="CN=ksef-hsm local CA"
grant local-cli key-admin,enrollment,auth-signing,offline-signing,audit-reading *
POLICY

write_once "${STATE_DIR}/client.conf" <<CONF
# ksef-hsm CLI configuration written by scripts/embedded-default.sh.
# Use: ksef-hsm --config <this file> <command>
# Relative paths are resolved against this file's directory.
server = 127.0.0.1:${PORT}
ca_cert = pki/ca.pem
client_cert = pki/client.pem
client_key = pki/client.key
CONF

log "embedded default ready in ${STATE_DIR}"
log "  server: ksef-hsmd --config ${STATE_DIR}/ksef-hsmd.conf"
log "  client: ksef-hsm --config ${STATE_DIR}/client.conf health"
