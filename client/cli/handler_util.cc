#include "client/cli/handler_util.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/cli/enum_names.h"
#include "client/key_names.h"

namespace ksef::client {
namespace {

// The context identifier options; exactly one must be given.
constexpr absl::string_view kContextFlags[] = {"nip", "internal-id", "nip-vat-ue", "peppol-id"};

std::string ContextFlagList() {
  std::vector<std::string> names;
  for (absl::string_view flag : kContextFlags) names.push_back(absl::StrCat("--", flag));
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::optional<std::string> KeyName(CommandContext& ctx, int* exit_status) {
  std::string name = NormalizeKeyName(ctx.args().positional.at(0));
  if (name.empty()) {
    *exit_status = ctx.UsageError("NAME is empty (give keys/ID, ID or a pkcs11: URI)");
    return std::nullopt;
  }
  return name;
}

std::string MissingFlags(const CommandContext& ctx,
                         std::initializer_list<absl::string_view> required) {
  std::vector<std::string> missing;
  for (absl::string_view flag : required) {
    if (!ctx.args().Has(flag)) missing.push_back(absl::StrCat("--", flag));
  }
  if (missing.empty()) return "";
  return absl::StrCat("missing ", absl::StrJoin(missing, ", "));
}

bool ParsePositiveIntFlag(CommandContext& ctx, absl::string_view flag, int32_t* out, int* rc) {
  std::optional<std::string> text = ctx.args().Get(flag);
  if (!text.has_value()) return true;
  int32_t value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value <= 0) {
    *rc = ctx.UsageError(
        absl::StrCat("--", flag, ": expected a positive number, got \"", *text, "\""));
    return false;
  }
  *out = value;
  return true;
}

bool CheckSubcommandFlags(CommandContext& ctx, std::initializer_list<absl::string_view> allowed,
                          absl::string_view sub, int* rc) {
  for (const auto& [name, value] : ctx.args().values) {
    bool ok = false;
    for (absl::string_view a : allowed) ok |= name == a;
    for (const FlagSpec& global : GlobalFlags()) ok |= name == global.name;
    if (!ok) {
      *rc = ctx.UsageError(
          absl::StrCat("--", name, " does not apply to ", ctx.command().name, " ", sub));
      return false;
    }
  }
  return true;
}

bool ParseTimestampFlag(CommandContext& ctx, absl::string_view flag,
                        google::protobuf::Timestamp* out, bool* given, int* rc) {
  if (given != nullptr) *given = false;
  std::optional<std::string> text = ctx.args().Get(flag);
  if (!text.has_value()) return true;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(*text), &time, &error) ||
      time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
    *rc = ctx.UsageError(absl::StrCat("invalid --", flag, " \"", *text,
                                      "\": expected RFC 3339, e.g. 2025-07-01T00:00:00Z"));
    return false;
  }
  absl::Duration rest;
  int64_t seconds = absl::IDivDuration(time - absl::UnixEpoch(), absl::Seconds(1), &rest);
  if (rest < absl::ZeroDuration()) {  // Timestamp nanos must be >= 0
    seconds -= 1;
    rest += absl::Seconds(1);
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rest)));
  if (given != nullptr) *given = true;
  return true;
}

bool ParseSubjectFlags(CommandContext& ctx, hsm::v1::KsefSubject* out, int* rc) {
  if (std::string missing = MissingFlags(ctx, {"subject-type", "subject"}); !missing.empty()) {
    *rc = ctx.UsageError(missing);
    return false;
  }
  hsm::v1::KsefSubject::IdentifierType type = hsm::v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "subject-type", &ParseSubjectType, &type, rc)) return false;
  std::string subject(absl::StripAsciiWhitespace(*ctx.args().Get("subject")));
  if (subject.empty()) {
    *rc = ctx.UsageError("--subject is empty");
    return false;
  }
  out->set_type(type);
  out->set_value(subject);
  return true;
}

bool ParseContextFlags(CommandContext& ctx, hsm::v1::ContextIdentifier* out, int* rc) {
  std::vector<absl::string_view> given;
  for (absl::string_view flag : kContextFlags) {
    if (ctx.args().Has(flag)) given.push_back(flag);
  }
  if (given.empty()) {
    *rc = ctx.UsageError(
        absl::StrCat("missing the context identifier: give one of ", ContextFlagList()));
    return false;
  }
  if (given.size() > 1 || ctx.args().GetAll(given[0]).size() > 1) {
    *rc = ctx.UsageError(
        absl::StrCat("give exactly one context identifier (one of ", ContextFlagList(), ")"));
    return false;
  }
  std::string value(absl::StripAsciiWhitespace(*ctx.args().Get(given[0])));
  if (value.empty()) {
    *rc = ctx.UsageError(absl::StrCat("--", given[0], " is empty"));
    return false;
  }
  if (given[0] == "nip") {
    out->set_nip(value);
  } else if (given[0] == "internal-id") {
    out->set_internal_id(value);
  } else if (given[0] == "nip-vat-ue") {
    out->set_nip_vat_ue(value);
  } else {
    out->set_peppol_id(value);
  }
  return true;
}

}  // namespace ksef::client
