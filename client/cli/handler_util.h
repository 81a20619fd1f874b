// Helpers shared by the command handlers (command_handlers.cc,
// enrollment_handlers.cc, test_ca_handlers.cc, audit_handlers.cc,
// auth_handlers.cc, offline_handlers.cc).
#ifndef KSEF_CLIENT_CLI_HANDLER_UTIL_H_
#define KSEF_CLIENT_CLI_HANDLER_UTIL_H_

#include <google/protobuf/timestamp.pb.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/cli/command_context.h"

namespace ksef::client {

// The NAME argument (first positional) as a KeyService name, or nullopt after
// a usage error (`*exit_status` is set then).
std::optional<std::string> KeyName(CommandContext& ctx, int* exit_status);

// Parses an enum option if present; false after printing a usage error.
template <typename Enum>
bool ParseEnumFlag(CommandContext& ctx, absl::string_view flag,
                   absl::StatusOr<Enum> (*parse)(absl::string_view, absl::string_view), Enum* out,
                   int* rc) {
  std::optional<std::string> word = ctx.args().Get(flag);
  if (!word.has_value()) return true;
  absl::StatusOr<Enum> value = parse(*word, absl::StrCat("--", flag));
  if (!value.ok()) {
    *rc = ctx.UsageError(value.status().message());
    return false;
  }
  *out = *value;
  return true;
}

// "missing --a, --b" for the required options that were not given, or "" if
// all were.
std::string MissingFlags(const CommandContext& ctx,
                         std::initializer_list<absl::string_view> required);

// Parses --FLAG N as a positive int32 if present; false after a usage error.
bool ParsePositiveIntFlag(CommandContext& ctx, absl::string_view flag, int32_t* out, int* rc);

// For commands with subcommands ("test-ca issue", "audit list"), whose
// options differ: true if every option given, besides the global ones, is in
// `allowed`; else a usage error "--x does not apply to <command> <sub>".
bool CheckSubcommandFlags(CommandContext& ctx, std::initializer_list<absl::string_view> allowed,
                          absl::string_view sub, int* rc);

// Parses --FLAG TIME (RFC 3339, e.g. 2025-07-01T00:00:00Z or with an offset)
// into `out` if present; false after a usage error. `*given` (if not null)
// tells whether the option was there.
bool ParseTimestampFlag(CommandContext& ctx, absl::string_view flag,
                        google::protobuf::Timestamp* out, bool* given, int* rc);

// --subject-type TYPE --subject VALUE (both required, VALUE not empty) into
// `out`; false after a usage error.
bool ParseSubjectFlags(CommandContext& ctx, hsm::v1::KsefSubject* out, int* rc);

// The login context: exactly one of --nip, --internal-id, --nip-vat-ue and
// --peppol-id (given once, not empty) into `out`; false after a usage error.
bool ParseContextFlags(CommandContext& ctx, hsm::v1::ContextIdentifier* out, int* rc);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_HANDLER_UTIL_H_
