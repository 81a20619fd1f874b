#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests of the PostgreSQL audit store.
#
# Usage: scripts/pg-test-server.sh start|stop|env|status DIR
#   start   initdb in DIR (first time only), start the server (or reuse the
#           one already running there) and print the conninfo as
#           `export KSEF_TEST_PG='...'` on stdout, so that
#             eval "$(scripts/pg-test-server.sh start /tmp/pg)"
#           sets it in the calling shell. Progress goes to stderr.
#   stop    shut the server down (fast mode); nothing to do if it is not running.
#   env     print the export line only (the server is not touched).
#   status  exit 0 if the server in DIR is running.
#
# The server listens only on a unix socket (listen_addresses=''), in DIR
# itself (or, when that path is too long for a socket, or unreachable for
# the postgres user when run as root, in /tmp/ksef-pg-<checksum of DIR>),
# on port KSEF_PG_PORT (default 54329), with fsync on, and a trusted
# superuser `ksef` (trust auth is fine: nothing but local processes can reach
# the socket). PostgreSQL refuses to run as root: as root the cluster is owned
# by and run as the `postgres` user (runuser), and the socket dir is made
# reachable for every user.
# Environment: KSEF_PG_BIN (default /usr/lib/postgresql/15/bin), KSEF_PG_PORT.
set -euo pipefail

log() { printf '[pg-test-server] %s\n' "$*" >&2; }
die() { printf '[pg-test-server] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { die "usage: $0 start|stop|env|status DIR"; }
[[ $# -eq 2 ]] || usage
readonly ACTION="$1"
[[ -n "$2" ]] || usage

readonly PG_BIN="${KSEF_PG_BIN:-/usr/lib/postgresql/15/bin}"
readonly PORT="${KSEF_PG_PORT:-54329}"
readonly PG_USER="ksef"

[[ "${PORT}" =~ ^[0-9]+$ ]] || die "KSEF_PG_PORT must be a number, not '${PORT}'"

mkdir -p "$2"
DIR="$(cd "$2" && pwd -P)"
readonly DIR

AS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && AS_ROOT=1

# Runs a PostgreSQL program as the cluster's owner, from / (as root the
# current directory may be unreadable for postgres).
pg() {
  if [[ ${AS_ROOT} -eq 1 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Where the cluster lives: DIR unless a socket path in DIR would exceed the
# 107-byte limit of sun_path, or (as root) postgres cannot reach DIR.
run_dir_for() {
  local dir="$1" sock_len=$(( ${#1} + ${#PORT} + 12 ))  # "/.s.PGSQL.<port>.lock"
  local usable=1
  (( sock_len > 100 )) && usable=0
  if [[ ${AS_ROOT} -eq 1 && ${usable} -eq 1 ]]; then
    # Every parent of DIR must be searchable by postgres.
    local p="${dir}"
    while [[ "${p}" != "/" && -n "${p}" ]]; do
      p="$(dirname "${p}")"
      if ! runuser -u postgres -- test -x "${p}" 2>/dev/null; then usable=0; break; fi
    done
  fi
  if [[ ${usable} -eq 1 ]]; then
    printf '%s\n' "${dir}"
  else
    printf '%s/ksef-pg-%s\n' "/tmp" "$(printf '%s' "${dir}" | cksum | cut -d' ' -f1)"
  fi
}

RUN_DIR="$(run_dir_for "${DIR}")"
readonly RUN_DIR
readonly DATA="${RUN_DIR}/data"
readonly LOG_FILE="${RUN_DIR}/postgres.log"
readonly CONNINFO="host=${RUN_DIR} port=${PORT} user=${PG_USER} dbname=postgres"

print_env() { printf "export KSEF_TEST_PG='%s'\n" "${CONNINFO}"; }

is_running() {
  [[ -f "${DATA}/PG_VERSION" ]] || return 1
  pg "${PG_BIN}/pg_ctl" -D "${DATA}" status >/dev/null 2>&1
}

prepare_dirs() {
  mkdir -p "${RUN_DIR}"
  if [[ ${AS_ROOT} -eq 1 ]]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root, but there is no 'postgres' user to run the server as (install the postgresql package: scripts/install-deps.sh)"
    command -v runuser >/dev/null 2>&1 || die "running as root needs runuser (util-linux)"
    chown postgres:postgres "${RUN_DIR}"
  fi
  # The socket lives here: every local user may reach it (data/ stays 0700).
  chmod 0755 "${RUN_DIR}"
  # Leave a pointer in DIR when the cluster lives elsewhere.
  [[ "${RUN_DIR}" == "${DIR}" ]] || ln -sfn "${RUN_DIR}" "${DIR}/cluster"
}

do_initdb() {
  [[ -x "${PG_BIN}/initdb" ]] ||
    die "${PG_BIN}/initdb not found: install PostgreSQL 15 (scripts/install-deps.sh) or set KSEF_PG_BIN"
  log "initdb ${DATA}"
  rm -rf "${DATA}"
  pg "${PG_BIN}/initdb" -D "${DATA}" -U "${PG_USER}" --auth=trust --encoding=UTF8 --locale=C \
    --no-instructions >"${RUN_DIR}/initdb.log" 2>&1 ||
    { cat "${RUN_DIR}/initdb.log" >&2; die "initdb failed (log above)"; }
  # Settings for a private, local-only test server; fsync and synchronous
  # commit stay on so the tests exercise the durable path.
  cat >>"${DATA}/postgresql.conf" <<EOF

# --- scripts/pg-test-server.sh ---
listen_addresses = ''
unix_socket_directories = '${RUN_DIR}'
unix_socket_permissions = 0777
port = ${PORT}
fsync = on
synchronous_commit = on
max_connections = 100
shared_buffers = 32MB
log_min_messages = warning
EOF
}

start() {
  if is_running; then
    log "reusing the server already running in ${DATA}"
    print_env
    return 0
  fi
  prepare_dirs
  [[ -f "${DATA}/PG_VERSION" ]] || do_initdb
  log "starting PostgreSQL on ${RUN_DIR}/.s.PGSQL.${PORT}"
  [[ ${AS_ROOT} -eq 1 ]] && touch "${LOG_FILE}" && chown postgres:postgres "${LOG_FILE}"
  if ! pg "${PG_BIN}/pg_ctl" -D "${DATA}" -l "${LOG_FILE}" -w -t 60 start >/dev/null; then
    tail -n 30 "${LOG_FILE}" >&2 || true
    die "the server did not start (log above, ${LOG_FILE})"
  fi
  if [[ -x "${PG_BIN}/pg_isready" ]] &&
     ! "${PG_BIN}/pg_isready" -q -h "${RUN_DIR}" -p "${PORT}" -U "${PG_USER}" -t 10; then
    die "the server started but does not accept connections on ${RUN_DIR} port ${PORT}"
  fi
  print_env
}

stop() {
  if ! is_running; then
    log "no server running in ${DATA}"
    return 0
  fi
  log "stopping the server in ${DATA}"
  pg "${PG_BIN}/pg_ctl" -D "${DATA}" -m fast -w -t 60 stop >/dev/null
}

case "${ACTION}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  status) is_running ;;
  *) usage ;;
esac
