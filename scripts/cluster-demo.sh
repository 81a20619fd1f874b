#!/usr/bin/env bash
# The scale-out layout by hand, on one machine (docs/operations.md,
# "Production layout"): a throwaway PostgreSQL (scripts/pg-test-server.sh)
# holding both the audit log and the key registry, ONE SoftHSM2 token, three
# ksef-hsmd replicas (each its own node_id, state directory and port) and
# HAProxy in front in TCP mode, so mutual TLS goes through it end to end.
# Makes an Offline key through the balancer (each CLI call is a new
# connection, so the steps land on different replicas), signs a KOD II
# through each replica directly, shows the audit chains of all three nodes
# and verifies them. Everything is stopped again on exit (trap).
#
# Usage: scripts/cluster-demo.sh [DIR]   (default: a fresh temp dir; kept)
# Environment:
#   KSEF_BUILD_DIR      build tree with service/ksef-hsmd and client/ksef-hsm
#                       (default <repo>/build; scripts/build.sh makes it)
#   KSEF_CLUSTER_PORT   the balancer's port; replicas use the next three
#                       (default 7450: 7450, 7451-7453)
#   KSEF_PG_PORT        the PostgreSQL server's port (default 54349)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BUILD_DIR="${KSEF_BUILD_DIR:-${ROOT}/build}"
BASE_PORT="${KSEF_CLUSTER_PORT:-7450}"
export KSEF_PG_PORT="${KSEF_PG_PORT:-54349}"
readonly REPLICAS=3 NIP=5265877635 LABEL=ksef-cluster

step() { printf '\n==> %s\n' "$*"; }
log() { printf '[cluster-demo] %s\n' "$*"; }
die() { printf '[cluster-demo] ERROR: %s\n' "$*" >&2; exit 1; }

SERVER_BIN="${BUILD_DIR}/service/ksef-hsmd"
CLI_BIN="${BUILD_DIR}/client/ksef-hsm"
for bin in "${SERVER_BIN}" "${CLI_BIN}"; do
  [[ -x "${bin}" ]] || die "${bin} not found: run scripts/build.sh (or set KSEF_BUILD_DIR)"
done
HAPROXY="$(command -v haproxy || true)"
[[ -n "${HAPROXY}" ]] || HAPROXY=/usr/sbin/haproxy
[[ -x "${HAPROXY}" ]] || die "haproxy not found: run scripts/install-deps.sh (apt-get install haproxy)"

DIR="${1:-$(mktemp -d /tmp/ksef-cluster-XXXXXX)}"
mkdir -p "${DIR}"
DIR="$(cd "${DIR}" && pwd -P)"

pids=()  # replicas and haproxy, stopped in reverse order on exit
pg_started=0
on_exit() {
  local rc=$? i
  step "Stopping everything"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null && log "SIGTERM to pid ${pids[i]}"
    wait "${pids[i]}" 2>/dev/null || true
  done
  if (( pg_started )); then bash "${ROOT}/scripts/pg-test-server.sh" stop "${DIR}/pg" || true; fi
  (( rc == 0 )) || printf '\n[cluster-demo] FAILED (exit status %d); logs in %s\n' "${rc}" "${DIR}" >&2
  exit "${rc}"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "PostgreSQL for the audit log and the key registry (scripts/pg-test-server.sh, port ${KSEF_PG_PORT})"
eval "$(bash "${ROOT}/scripts/pg-test-server.sh" start "${DIR}/pg")"
pg_started=1
PGOPTIONS='-c client_min_messages=warning' psql "${KSEF_TEST_PG}" -qc 'DROP DATABASE IF EXISTS ksef' -c 'CREATE DATABASE ksef'
CONNINFO="${KSEF_TEST_PG/dbname=postgres/dbname=ksef}"
log "database: ${CONNINFO}"

step "One SoftHSM2 token for all replicas, and a development PKI for mutual TLS"
bash "${ROOT}/softhsm-config/make-token.sh" "${DIR}" "${LABEL}"
bash "${ROOT}/scripts/dev-pki.sh" "${DIR}"
cat >"${DIR}/policy.conf" <<'POLICY'
identity local-cli subject="CN=ksef-hsm-cli" issuer="CN=ksef-hsm local CA"
grant local-cli key-admin,enrollment,auth-signing,offline-signing,audit-reading *
POLICY

# client_conf NAME PORT: a CLI config for 127.0.0.1:PORT.
client_conf() {
  printf 'server = 127.0.0.1:%s\nca_cert = pki/ca.pem\nclient_cert = pki/client.pem\nclient_key = pki/client.key\n' \
    "$2" >"${DIR}/client-$1.conf"
}

# replica_conf I: the config of replica I (node replica-I, port BASE+1+I).
replica_conf() {
  local i="$1"
  cat >"${DIR}/replica-${i}.conf" <<CONF
listen_address = 127.0.0.1:$((BASE_PORT + 1 + i))
tls_cert_file = pki/server.pem
tls_key_file = pki/server.key
tls_client_ca_file = pki/ca.pem
pkcs11_module = /usr/lib/softhsm/libsofthsm2.so
token_label = ${LABEL}
pin_file = pin
softhsm2_conf = softhsm/softhsm2.conf
token_store_dir = softhsm/tokens
state_dir = replica-${i}
policy_file = policy.conf
node_id = replica-${i}
audit_store = postgres
audit_postgres = "${CONNINFO}"
registry_store = postgres
registry_postgres = "${CONNINFO}"
CONF
  chmod 600 "${DIR}/replica-${i}.conf"
}

wait_healthy() {  # NAME PID
  local deadline=$((SECONDS + 30))
  until "${CLI_BIN}" --config "${DIR}/client-$1.conf" health >/dev/null 2>&1; do
    kill -0 "$2" 2>/dev/null || { tail -n 20 "${DIR}/$1.log" >&2; die "$1 exited during start-up"; }
    (( SECONDS < deadline )) || { tail -n 20 "${DIR}/$1.log" >&2; die "$1 not healthy after 30s"; }
    sleep 0.3
  done
}

step "Three replicas on the one token and the one database"
for ((i = 0; i < REPLICAS; i++)); do
  replica_conf "${i}"
  client_conf "replica-${i}" "$((BASE_PORT + 1 + i))"
  printf '$ ksef-hsmd --config %s &\n' "${DIR}/replica-${i}.conf"
  "${SERVER_BIN}" --config "${DIR}/replica-${i}.conf" >"${DIR}/replica-${i}.log" 2>&1 </dev/null &
  pids+=($!)
done
for ((i = 0; i < REPLICAS; i++)); do
  wait_healthy "replica-${i}" "${pids[i]}"
  log "replica-${i} serves on 127.0.0.1:$((BASE_PORT + 1 + i)) (log ${DIR}/replica-${i}.log)"
done

step "HAProxy on 127.0.0.1:${BASE_PORT}: TCP mode (mTLS passes through), roundrobin, health checks every 200 ms"
{
  printf 'global\n  maxconn 4096\n  stats socket %s/haproxy.sock mode 600 level admin\n' "${DIR}"
  printf 'defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10m\n  timeout server 10m\n'
  printf '  retries 3\n  option redispatch 1\n'
  printf 'frontend ksef\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "${BASE_PORT}"
  printf 'backend replicas\n  balance roundrobin\n'
  for ((i = 0; i < REPLICAS; i++)); do
    printf '  server replica-%s 127.0.0.1:%s check inter 200ms fall 2 rise 2\n' "${i}" "$((BASE_PORT + 1 + i))"
  done
} >"${DIR}/haproxy.cfg"
cat "${DIR}/haproxy.cfg"
"${HAPROXY}" -db -f "${DIR}/haproxy.cfg" >"${DIR}/haproxy.log" 2>&1 </dev/null &
pids+=($!)
client_conf lb "${BASE_PORT}"
wait_healthy lb "${pids[-1]}"

# cli NAME ARGS...: one CLI call (a new connection) through NAME (lb, replica-N).
cli() {
  local via="$1"
  shift
  printf '\n$ ksef-hsm --config client-%s.conf %s\n' "${via}" "$*"
  "${CLI_BIN}" --config "${DIR}/client-${via}.conf" "$@"
}

step "An Offline key through the balancer: create, CSR, certificate (local TEST CA, not KSeF), import"
KEY="cluster-offline-$(date -u +%H%M%S)"
cli lb create-key --key-id "${KEY}" --subject-type nip --subject "${NIP}" --purpose offline
cli lb csr "${KEY}" --enrollment-data "${ROOT}/examples/enrollment-data.json" \
  --certificate-name "ksef-hsm cluster demo" --format pem --out "${DIR}/${KEY}.csr"
cli lb test-ca issue --ca-dir "${DIR}/test-ca" --csr "${DIR}/${KEY}.csr" --type offline \
  --out "${DIR}/${KEY}.pem"
cli lb import-cert "${KEY}" --cert "${DIR}/${KEY}.pem"

step "The same key on every replica: each signs a KOD II directly"
for ((i = 0; i < REPLICAS; i++)); do
  mkdir -p "${DIR}/qr-replica-${i}"
  cli "replica-${i}" qr "${KEY}" --nip "${NIP}" --out-dir "${DIR}/qr-replica-${i}" \
    "${ROOT}/examples/invoice-fa3.xml"
done

step "The audit log: one chain per node, all in the one database, verified together"
cli lb audit list --key "${KEY}"
cli lb audit verify

step "Done"
log "state, configs and logs stay in ${DIR}; the processes stop now"
