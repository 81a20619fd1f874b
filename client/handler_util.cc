#include "client/handler_util.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "client/key_names.h"

namespace ksef::client {

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

}  // namespace ksef::client
