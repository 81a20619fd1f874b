#include "client/commands.h"

#include "client/command_handlers.h"

namespace ksef::client {
namespace {

constexpr FlagSpec kGlobalFlags[] = {
    {"server", "HOST:PORT", "address of ksef-hsmd (default 127.0.0.1:7443)"},
    {"ca-cert", "FILE", "CA certificate (PEM) that signed the server's certificate"},
    {"client-cert", "FILE", "your client certificate (PEM), for mutual TLS"},
    {"client-key", "FILE", "the private key (PEM) of --client-cert"},
    {"server-name", "NAME", "name in the server certificate, if it differs from HOST"},
    {"plaintext", "", "no TLS at all; only for a local test server"},
    {"timeout", "DURATION", "deadline of each call, e.g. 10s or 2m (default 30s)"},
    {"json", "", "print the server's reply as protobuf JSON, for scripts"},
    {"config", "FILE", "client config file (see below)"},
};

constexpr FlagSpec kSubjectTypeFlag = {"subject-type", "TYPE", "nip, pesel or fingerprint"};
constexpr FlagSpec kPurposeFlag = {"purpose", "PURPOSE", "authentication or offline"};

constexpr absl::string_view kNameHelp =
    "NAME is keys/ID, just ID (\"keys/\" is added), or the key's pkcs11: URI (quote it:\n"
    "it contains ';').";

const std::vector<CommandSpec>& Table() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {"create-key",
       "generate a new key pair inside the HSM",
       "--subject-type TYPE --subject VALUE --purpose PURPOSE\n"
       "[--algorithm ALG] [--key-id ID]",
       "Generates a key pair inside the HSM token. The private key is created\n"
       "non-extractable and never leaves the HSM. The subject is the KSeF identity the\n"
       "key's certificate will carry: a NIP (10 digits), a PESEL (11 digits) or the\n"
       "SHA-256 fingerprint of a certificate (64 hex digits). The purpose decides what\n"
       "the key may sign: \"authentication\" logs in to KSeF, \"offline\" signs KOD II\n"
       "links of offline invoices. The new key waits in state pending-certificate until\n"
       "a certificate for it is imported.",
       {"ksef-hsm create-key --subject-type nip --subject 5260250274 --purpose authentication",
        "ksef-hsm create-key --subject-type pesel --subject 44051401359 --purpose offline \\\n"
        "      --algorithm rsa-2048 --key-id jan-offline-1"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "the NIP, PESEL or fingerprint"},
        kPurposeFlag,
        {"algorithm", "ALG", "ec-p256 (default) or rsa-2048"},
        {"key-id", "ID", "your own ID, [a-z0-9][a-z0-9-]{0,62}; generated if absent"}},
       {},
       &RunCreateKey},
      {"get-key",
       "show one key",
       "NAME",
       "Shows a key: its state, purpose, algorithm, subject, PKCS#11 URI, times, what the\n"
       "token reports about the private key (attestation) and its certificate, if any.",
       {"ksef-hsm get-key acme-auth-1"},
       {},
       {"NAME"},
       &RunGetKey},
      {"list-keys",
       "list keys, optionally filtered",
       "[--subject-type TYPE] [--subject VALUE] [--purpose PURPOSE]\n"
       "[--state STATE] [--page-size N] [--page-token TOKEN] [--all]",
       "Lists keys ordered by name, one page at a time (50 by default). Filters combine\n"
       "with AND. Without --all, the last line tells the --page-token for the next page.",
       {"ksef-hsm list-keys --state active --all",
        "ksef-hsm list-keys --subject-type nip --subject 5260250274"},
       {kSubjectTypeFlag,
        {"subject", "VALUE", "only keys for this NIP, PESEL or fingerprint"},
        kPurposeFlag,
        {"state", "STATE",
         "pending-certificate, active, disabled, expired, scheduled-for-destruction or "
         "destroyed"},
        {"page-size", "N", "keys per page (server default 50, at most 1000)"},
        {"page-token", "TOKEN", "continue where a previous page ended"},
        {"all", "", "fetch every page and print them as one list"}},
       {},
       &RunListKeys},
      {"public-key",
       "print a key's public key (PEM), or write it as DER",
       "NAME [--der-out FILE]",
       "Prints the public half of the key as a PEM SubjectPublicKeyInfo (\"-----BEGIN\n"
       "PUBLIC KEY-----\"), ready to be saved or passed to openssl. With --der-out the\n"
       "DER form is written to FILE instead.",
       {"ksef-hsm public-key acme-auth-1 > acme-auth-1.pub.pem",
        "ksef-hsm public-key acme-auth-1 --der-out acme-auth-1.pub.der"},
       {{"der-out", "FILE", "write the DER SubjectPublicKeyInfo to FILE"}},
       {"NAME"},
       &RunPublicKey},
      {"disable-key",
       "refuse every use of a key until it is enabled again",
       "NAME",
       "Moves an active or pending-certificate key to disabled: the service refuses to\n"
       "use it. Reversible with enable-key.",
       {"ksef-hsm disable-key acme-auth-1"},
       {},
       {"NAME"},
       &RunDisableKey},
      {"enable-key",
       "make a disabled key usable again",
       "NAME",
       "Moves a disabled key back to active (if it has a certificate) or to\n"
       "pending-certificate.",
       {"ksef-hsm enable-key acme-auth-1"},
       {},
       {"NAME"},
       &RunEnableKey},
      {"schedule-destruction",
       "schedule a key for destruction; restore-key undoes it",
       "NAME",
       "Marks the key scheduled-for-destruction. The key is unusable at once; its private\n"
       "key is deleted from the HSM when destroy_time (shown in the output) has passed.\n"
       "Until then, restore-key brings it back. After that, it is gone for good.",
       {"ksef-hsm schedule-destruction acme-auth-1"},
       {},
       {"NAME"},
       &RunScheduleDestruction},
      {"restore-key",
       "undo schedule-destruction (the key comes back disabled)",
       "NAME",
       "Cancels the destruction of a scheduled-for-destruction key within its grace\n"
       "period. The key comes back disabled; use enable-key to use it again.",
       {"ksef-hsm restore-key acme-auth-1"},
       {},
       {"NAME"},
       &RunRestoreKey},
      {"check-consistency",
       "compare the HSM token with the service's key registry",
       "",
       "Asks the service to compare the private keys on the HSM token with its key\n"
       "registry, and prints keys found on the token that the registry does not know, and\n"
       "registry keys whose token objects are missing. Exit status 1 when it finds any.",
       {"ksef-hsm check-consistency"},
       {},
       {},
       &RunCheckConsistency},
      {"health",
       "ask whether the server is serving (exit 0 if so)",
       "[--service NAME]",
       "Calls the standard gRPC health check (grpc.health.v1.Health/Check) and prints\n"
       "the status: SERVING, NOT_SERVING, ... Exit status 0 only for SERVING, so it\n"
       "works in scripts and container health checks.",
       {"ksef-hsm health", "ksef-hsm health --service ksef.hsm.v1.KeyService"},
       {{"service", "NAME", "check one service instead of the whole server"}},
       {},
       &RunHealth},
  };
  return *kCommands;
}

}  // namespace

absl::string_view KeyNameHelp() { return kNameHelp; }

std::span<const CommandSpec> AllCommands() { return Table(); }

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& command : Table()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::span<const FlagSpec> GlobalFlags() { return kGlobalFlags; }

}  // namespace ksef::client
