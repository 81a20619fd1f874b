#include "client/cli/args.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ksef::client {
namespace {

const FlagSpec* FindSpec(std::span<const FlagSpec> specs, absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

absl::Status UnknownOption(absl::string_view name, std::span<const FlagSpec> specs) {
  std::vector<absl::string_view> names;
  for (const FlagSpec& spec : specs) names.push_back(spec.name);
  names.push_back("help");
  std::optional<std::string> guess = SuggestClosest(name, names);
  std::string message = absl::StrCat("unknown option --", name);
  if (guess.has_value()) absl::StrAppend(&message, " (did you mean --", *guess, "?)");
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::string> SwitchValue(absl::string_view name, absl::string_view value) {
  std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return "true";
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return "false";
  return absl::InvalidArgumentError(absl::StrCat("option --", name,
                                                 " is a switch; it takes no value or "
                                                 "=true/=false, not \"",
                                                 value, "\""));
}

}  // namespace

bool ParsedArgs::Has(absl::string_view name) const { return values.find(name) != values.end(); }

std::optional<std::string> ParsedArgs::Get(absl::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  auto it = all_values.find(name);
  if (it == all_values.end()) return {};
  return it->second;
}

bool ParsedArgs::IsSet(absl::string_view name) const {
  auto it = values.find(name);
  return it != values.end() && it->second == "true";
}

absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs, bool stop_at_positional) {
  ParsedArgs parsed;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (stop_at_positional) {
        ++i;
        break;
      }
      parsed.positional.insert(parsed.positional.end(), args.begin() + i + 1, args.end());
      i = args.size();
      break;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    if (arg.empty() || arg == "-" || arg[0] != '-') {
      if (stop_at_positional) break;
      parsed.positional.push_back(arg);
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option ", arg, " (options are written --name)"));
    }
    absl::string_view body = absl::string_view(arg).substr(2);
    std::optional<absl::string_view> inline_value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = FindSpec(specs, body);
    if (spec == nullptr) return UnknownOption(body, specs);

    std::string value;
    if (!spec->takes_value()) {
      if (inline_value.has_value()) {
        absl::StatusOr<std::string> normalized = SwitchValue(spec->name, *inline_value);
        if (!normalized.ok()) return normalized.status();
        value = *normalized;
      } else {
        value = "true";
      }
    } else if (inline_value.has_value()) {
      value = std::string(*inline_value);
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("option --", spec->name, " needs a value (--",
                                                     spec->name, " ", spec->value_name, ")"));
    }
    parsed.all_values[std::string(spec->name)].push_back(value);
    parsed.values.insert_or_assign(std::string(spec->name), std::move(value));
  }
  parsed.consumed = i;
  return parsed;
}

std::optional<std::string> SuggestClosest(absl::string_view word,
                                          std::span<const absl::string_view> candidates) {
  std::optional<std::string> best;
  size_t best_distance = 0;
  for (absl::string_view candidate : candidates) {
    size_t distance = EditDistance(word, candidate);
    // A prefix ("list" for "list-keys") is a good guess whatever its length.
    if (word.size() >= 3 && absl::StartsWith(candidate, word)) distance = 1;
    if (!best.has_value() || distance < best_distance) {
      best = std::string(candidate);
      best_distance = distance;
    }
  }
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  if (!best.has_value() || best_distance > limit) return std::nullopt;
  return best;
}

}  // namespace ksef::client
