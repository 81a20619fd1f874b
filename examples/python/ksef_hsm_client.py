#!/usr/bin/python3
"""Example ksef-hsm client in Python: mutual TLS, an AuthTokenRequest signed
for KSeF's XAdES login, and the KOD II link of an invoice issued offline.

Needs Debian's python3-grpcio and python3-protobuf, and the modules that
generate_stubs.sh makes from proto/ on PYTHONPATH (README.md shows the
commands). Errors end the program with exit code 1 after printing the gRPC
status code and the server's message, which says what to fix.
"""

import argparse
import os
import sys

import grpc

from ksef.hsm.v1 import auth_service_pb2, auth_service_pb2_grpc
from ksef.hsm.v1 import offline_service_pb2, offline_service_pb2_grpc

TIMEOUT_SECONDS = 30


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def connect(args):
    """An mTLS channel: the server must present a certificate of the CA in
    --ca for the host of --server (or --server-name), and this client
    presents --cert/--key."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_file(args.ca),
        private_key=read_file(args.key),
        certificate_chain=read_file(args.cert),
    )
    options = []
    if args.server_name:
        # The name the server certificate must carry when the address differs
        # (a balancer, an IP not in its SAN), as the C++ CLI's --server-name.
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.server, credentials, options=options)


def context_identifier(args):
    """The KSeF context: exactly one of the identifiers."""
    if args.nip:
        return auth_service_pb2.ContextIdentifier(nip=args.nip)
    return auth_service_pb2.ContextIdentifier(internal_id=args.internal_id)


def sign_auth_token(channel, args):
    """SignAuthToken: the server builds the AuthTokenRequest from these fields
    and signs it (XAdES-BES) in the HSM; the result is the body of KSeF's
    POST /auth/xades-signature."""
    identifier_type = {
        "subject": auth_service_pb2.CERTIFICATE_SUBJECT,
        "fingerprint": auth_service_pb2.CERTIFICATE_FINGERPRINT,
    }[args.subject_identifier_type]
    request = auth_service_pb2.SignAuthTokenRequest(
        name=args.key_name,
        challenge=args.challenge,
        context_identifier=context_identifier(args),
        subject_identifier_type=identifier_type,
    )
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    token = stub.SignAuthToken(request, timeout=TIMEOUT_SECONDS)
    with open(args.out, "wb") as f:
        f.write(token.xml)
    print(f"signed by {token.name} (certificate {token.certificate_serial_number})")
    print(f"AuthTokenRequest written to {args.out}")


def sign_offline_invoice(channel, args):
    """SignOfflineInvoice: KOD I and KOD II for one invoice file; the server
    hashes the file and reads the seller's NIP and the issue date from it."""
    request = offline_service_pb2.SignOfflineInvoiceRequest(
        name=args.key_name,
        context_identifier=context_identifier(args),
        invoice_xml=read_file(args.invoice),
    )
    stub = offline_service_pb2_grpc.OfflineInvoiceServiceStub(channel)
    codes = stub.SignOfflineInvoice(request, timeout=TIMEOUT_SECONDS)
    print(f"KOD I  ({codes.kod_i_label}): {codes.kod_i_link}")
    print(f"KOD II (CERTYFIKAT): {codes.kod_ii_link}")
    if args.out:
        with open(args.out, "w", encoding="ascii") as f:
            f.write(codes.kod_ii_link + "\n")
        print(f"KOD II link written to {args.out}")


def parse_args(argv):
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=env("KSEF_HSM_SERVER", "localhost:7443"),
                        help="HOST:PORT of ksef-hsmd (env KSEF_HSM_SERVER)")
    parser.add_argument("--ca", default=env("KSEF_HSM_CA"),
                        help="CA certificate of the server, PEM (env KSEF_HSM_CA)")
    parser.add_argument("--cert", default=env("KSEF_HSM_CERT"),
                        help="client certificate, PEM (env KSEF_HSM_CERT)")
    parser.add_argument("--key", default=env("KSEF_HSM_KEY"),
                        help="client private key, unencrypted PEM (env KSEF_HSM_KEY)")
    parser.add_argument("--server-name", default=env("KSEF_HSM_SERVER_NAME"),
                        help="name to expect in the server certificate (env KSEF_HSM_SERVER_NAME)")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_context(sub):
        group = sub.add_mutually_exclusive_group(required=True)
        group.add_argument("--nip", help="context: the NIP (10 digits)")
        group.add_argument("--internal-id", help="context: an internal id (NIP-5 digits)")

    auth = commands.add_parser("auth", help="sign an AuthTokenRequest")
    auth.add_argument("key_name", help="the Authentication key, keys/{id}")
    auth.add_argument("--challenge", required=True, help="from KSeF's POST /auth/challenge")
    add_context(auth)
    auth.add_argument("--subject-identifier-type", choices=["subject", "fingerprint"],
                      default="subject", help="how KSeF identifies the certificate")
    auth.add_argument("--out", required=True, help="file for the signed XML")
    auth.set_defaults(run=sign_auth_token)

    offline = commands.add_parser("offline", help="sign the KOD II link of an offline invoice")
    offline.add_argument("key_name", help="the Offline key, keys/{id}")
    offline.add_argument("--invoice", required=True, help="the invoice XML file (FA(3))")
    add_context(offline)
    offline.add_argument("--out", help="file for the KOD II link")
    offline.set_defaults(run=sign_offline_invoice)

    args = parser.parse_args(argv)
    missing = [flag for flag in ("ca", "cert", "key") if not getattr(args, flag)]
    if missing:
        parser.error("mutual TLS needs " + ", ".join("--" + m for m in missing))
    return args


def main(argv):
    args = parse_args(argv)
    try:
        with connect(args) as channel:
            args.run(channel, args)
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
