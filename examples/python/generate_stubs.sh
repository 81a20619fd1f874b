#!/usr/bin/env bash
# Generates the Python modules of the ksef-hsm API (messages and gRPC stubs)
# from proto/ into OUT_DIR, with the system protoc and Debian's
# grpc_python_plugin (package protobuf-compiler-grpc). They are generated,
# never committed: they must match the .proto files of this checkout.
# (grpc.health.v1 is left out: a generated grpc/ folder would clash with the
# grpc package; Debian's python3-grpcio has no health module.)
#
# Usage: examples/python/generate_stubs.sh OUT_DIR
# Then:  PYTHONPATH=OUT_DIR /usr/bin/python3 examples/python/ksef_hsm_client.py ...
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  printf 'usage: %s OUT_DIR\n' "$0" >&2
  exit 2
fi
plugin="$(command -v grpc_python_plugin || true)"
if [[ -z "${plugin}" ]] || ! command -v protoc >/dev/null 2>&1; then
  printf 'error: protoc and grpc_python_plugin are needed ' >&2
  printf '(apt-get install protobuf-compiler protobuf-compiler-grpc)\n' >&2
  exit 1
fi
proto_dir="$(cd "$(dirname "$0")/../../proto" && pwd)"
mkdir -p "$1"
cd "${proto_dir}"
protoc --proto_path=. --python_out="$1" --grpc_python_out="$1" \
  --plugin=protoc-gen-grpc_python="${plugin}" \
  ksef/hsm/v1/*.proto
