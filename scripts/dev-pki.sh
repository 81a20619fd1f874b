#!/usr/bin/env bash
# LOCAL DEVELOPMENT PKI - NOT FOR PRODUCTION.
#
# Makes a throw-away certificate authority plus one server and one client
# certificate, so that ksef-hsmd can run with mutual TLS on this machine.
# The CA key sits unprotected next to the certificates; anyone who can read
# it can mint client identities. In production use your organisation's CA
# (see docs/operations.md, "TLS and mTLS").
#
# Usage: scripts/dev-pki.sh STATE_DIR
#
# Creates in STATE_DIR/pki/ (EC P-256 keys, SHA-256 signatures):
#   ca.pem, ca.key           CN "ksef-hsm local CA", CA:TRUE, 10 years
#   server.pem, server.key   CN localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1,
#                            extendedKeyUsage serverAuth, 2 years
#   client.pem, client.key   CN ksef-hsm-cli, extendedKeyUsage clientAuth, 2 years
# Key files are mode 0600. Existing files are kept (idempotent); delete the
# pki/ directory to start over.
set -euo pipefail

log() { printf '[dev-pki] %s\n' "$*"; }
die() { printf '[dev-pki] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ $# -ne 1 || -z "${1}" ]]; then
  printf 'usage: %s STATE_DIR\n' "$0" >&2
  exit 2
fi
command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"

mkdir -p "${1}"
STATE_DIR="$(cd "${1}" && pwd -P)"
PKI="${STATE_DIR}/pki"
mkdir -p "${PKI}"

readonly CA_DAYS=3650
readonly LEAF_DAYS=730

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

# New EC P-256 private key at $1, mode 0600 from creation on.
new_key() {
  local path="$1" tmp
  tmp="$(mktemp "${path}.XXXXXX")"  # mktemp creates mode 0600
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out "${tmp}" 2>/dev/null)
  chmod 600 "${tmp}"
  mv -f "${tmp}" "${path}"
}

# A positive random 128-bit serial number.
new_serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

warn_if_expiring() {
  local cert="$1"
  if ! openssl x509 -in "${cert}" -noout -checkend $((30 * 24 * 3600)) >/dev/null; then
    log "WARNING: ${cert} expires within 30 days; delete it (and its key) and rerun to renew"
  fi
}

# --- CA ---
if [[ -s "${PKI}/ca.pem" ]]; then
  log "keeping existing CA ${PKI}/ca.pem"
  warn_if_expiring "${PKI}/ca.pem"
else
  log "creating local development CA (not for production)"
  new_key "${PKI}/ca.key"
  openssl req -new -x509 -sha256 -days "${CA_DAYS}" \
    -key "${PKI}/ca.key" -set_serial "$(new_serial)" \
    -subj "/CN=ksef-hsm local CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "${WORK}/ca.pem"
  mv -f "${WORK}/ca.pem" "${PKI}/ca.pem"
fi
chmod 644 "${PKI}/ca.pem"
[[ ! -e "${PKI}/ca.key" ]] || chmod 600 "${PKI}/ca.key"

# issue NAME SUBJECT EXTENSIONS: leaf certificate NAME.pem/NAME.key signed by the CA.
issue() {
  local name="$1" subject="$2" extensions="$3"
  local cert="${PKI}/${name}.pem" key="${PKI}/${name}.key"
  if [[ -s "${cert}" && -s "${key}" ]]; then
    log "keeping existing ${cert}"
    chmod 600 "${key}"
    warn_if_expiring "${cert}"
    return
  fi
  [[ -s "${PKI}/ca.key" ]] || die "${PKI}/ca.key is missing, cannot issue ${name}.pem; delete ${PKI} to start over"
  log "issuing ${name} certificate (${subject})"
  [[ -s "${key}" ]] || new_key "${key}"
  printf '%s\n' "${extensions}" \
    "subjectKeyIdentifier = hash" \
    "authorityKeyIdentifier = keyid,issuer" >"${WORK}/${name}.ext"
  openssl req -new -sha256 -key "${key}" -subj "${subject}" -out "${WORK}/${name}.csr"
  openssl x509 -req -sha256 -days "${LEAF_DAYS}" \
    -in "${WORK}/${name}.csr" -CA "${PKI}/ca.pem" -CAkey "${PKI}/ca.key" \
    -set_serial "$(new_serial)" -extfile "${WORK}/${name}.ext" \
    -out "${WORK}/${name}.pem" 2>/dev/null
  mv -f "${WORK}/${name}.pem" "${cert}"
  chmod 644 "${cert}"
  chmod 600 "${key}"
}

issue server "/CN=localhost" "$(printf '%s\n' \
  "basicConstraints = critical,CA:FALSE" \
  "keyUsage = critical,digitalSignature" \
  "extendedKeyUsage = serverAuth" \
  "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1")"

issue client "/CN=ksef-hsm-cli" "$(printf '%s\n' \
  "basicConstraints = critical,CA:FALSE" \
  "keyUsage = critical,digitalSignature" \
  "extendedKeyUsage = clientAuth")"

cat >"${PKI}/README.txt" <<'TXT'
LOCAL DEVELOPMENT PKI - NOT FOR PRODUCTION.

Made by scripts/dev-pki.sh so that ksef-hsmd can run with mutual TLS on one
machine. ca.key is stored unprotected: whoever can read it can issue client
certificates that the server will accept. For a real deployment use your
organisation's CA; see docs/operations.md.

  ca.pem / ca.key          "ksef-hsm local CA" (10 years)
  server.pem / server.key  CN=localhost, SAN localhost, 127.0.0.1, ::1 (serverAuth)
  client.pem / client.key  CN=ksef-hsm-cli (clientAuth)
TXT

openssl verify -CAfile "${PKI}/ca.pem" "${PKI}/server.pem" "${PKI}/client.pem" >/dev/null \
  || die "the certificates in ${PKI} do not verify against ca.pem; delete ${PKI} and rerun"
log "local development PKI ready in ${PKI} (not for production)"
