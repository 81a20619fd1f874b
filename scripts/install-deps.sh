#!/usr/bin/env bash
# Installs every Debian 12 (bookworm) package that ksef-hsm needs to build,
# run and test, including what the planned features use (XAdES/xmlsec1, QR
# codes, PostgreSQL audit store, benchmarks, fuzzing and sanitizers).
#
# Usage: scripts/install-deps.sh
#   Runs as root directly, or through sudo for a normal user.
#   When every package is already installed it returns at once without
#   touching apt; set KSEF_FORCE_APT=1 to run apt-get update/install anyway.
set -euo pipefail

readonly PACKAGES=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates
  # crypto, RPC
  openssl libssl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # PKCS#11: headers, the SoftHSM2 software token, pkcs11-tool for inspection
  libp11-kit-dev softhsm2 opensc
  # the second PKCS#11 implementation of the tests (KSEF_TEST_PKCS11_BACKEND=tpm2,
  # docs/operations.md): tpm2-pkcs11 over the swtpm TPM simulator behind the
  # tpm2-abrmd resource manager on a private D-Bus; tpm2-tools clears the
  # simulated TPM's dictionary-attack lockout
  libtpm2-pkcs11-1 swtpm tpm2-abrmd libtss2-tcti-tabrmd0 libtss2-tcti-swtpm0 dbus-daemon
  tpm2-tools
  # KSeF formats: XML (XAdES), QR codes (libqrencode for the symbol, zlib for
  # the PNG data, libpng to read the images back in the tests)
  libxml2-dev libxml2-utils libqrencode-dev zlib1g-dev libpng-dev
  # key registry and audit stores
  libsqlite3-dev sqlite3 libpq-dev postgresql
  # tests and benchmarks, and the independent verifiers the tests call
  libgtest-dev libgmock-dev libbenchmark-dev xmlsec1 zbar-tools
  # the load balancer in front of the replicas of the cluster tests and
  # scripts/cluster-demo.sh (TCP mode, mTLS passed through)
  haproxy
  # the metrics endpoint of ksef-hsmd (metrics/: prometheus-cpp, with civetweb);
  # prometheus and promtool for the metrics test and the alert-rule check
  prometheus-cpp-dev prometheus
  # fuzzing and sanitizers (scripts/fuzz.sh, scripts/sanitize.sh): clang 14
  # with its runtimes (libFuzzer, ASan/UBSan for clang), llvm-symbolizer for
  # readable reports (gcc's ASan/UBSan runtimes come with build-essential)
  clang libclang-rt-14-dev llvm
  # ps and friends, used by the scripts and tests
  procps
  # the Python client example (examples/python, e2e_clients_test): gRPC and
  # protobuf for /usr/bin/python3; its stubs come from protoc and
  # grpc_python_plugin (protobuf-compiler-grpc, above)
  python3-grpcio python3-protobuf
  # the Debian package (cmake/Packaging.cmake) and its tests (tests/packaging/):
  # dpkg-shlibdeps computes Depends, lintian checks the .deb, systemd-analyze
  # scores the unit's sandbox
  dpkg-dev lintian systemd
)

# The Node.js client example (examples/node): Debian's nodejs and npm, each
# only when no node or npm is on PATH. A NodeSource nodejs brings its own npm,
# and Debian's npm package would conflict with it.
wanted=("${PACKAGES[@]}")
command -v node >/dev/null 2>&1 || wanted+=(nodejs)
command -v npm >/dev/null 2>&1 || wanted+=(npm)

log() { printf '[install-deps] %s\n' "$*"; }
die() { printf '[install-deps] ERROR: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script is for Debian 12"

missing=()
for pkg in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
  if [[ "${status}" != "install ok installed" ]]; then
    missing+=("${pkg}")
  fi
done

if [[ ${#missing[@]} -eq 0 && "${KSEF_FORCE_APT:-0}" != "1" ]]; then
  log "all ${#wanted[@]} packages are already installed; skipping apt (KSEF_FORCE_APT=1 forces it)"
  exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  log "missing packages: ${missing[*]}"
else
  log "KSEF_FORCE_APT=1: running apt even though everything is installed"
fi

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo is not installed; run this script as root"
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# `env` carries DEBIAN_FRONTEND through sudo, which resets the environment.
log "apt-get update"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
log "apt-get install ${#wanted[@]} packages"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${wanted[@]}"
log "done"
