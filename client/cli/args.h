// A small GNU-style command-line parser for the ksef-hsm CLI.
//
//   --name value, --name=value   an option that takes a value
//   --name, --name=true|false    a switch (also yes/no, on/off, 1/0)
//   -h, --help                   always accepted; sets ParsedArgs::help
//   --                           everything after it is positional
//   anything else not starting with '-' (or a lone "-") is positional
//
// A value given as a separate argument may not start with "--", so that
// "--subject --purpose offline" reports the missing value instead of
// swallowing "--purpose"; write "--subject=--odd" if you really mean it.
#ifndef KSEF_CLIENT_CLI_ARGS_H_
#define KSEF_CLIENT_CLI_ARGS_H_

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::client {

struct FlagSpec {
  absl::string_view name;        // without the leading "--"
  absl::string_view value_name;  // "FILE", "HOST:PORT", ...; empty for a switch
  absl::string_view help;        // one line for --help

  bool takes_value() const { return !value_name.empty(); }
};

struct ParsedArgs {
  // Flag name (no "--") -> value; the last occurrence wins. Switches hold
  // "true" or "false".
  std::map<std::string, std::string, std::less<>> values;
  // Flag name -> every value given, in command-line order, for options that
  // may be repeated ("--allow-ip A --allow-ip B").
  std::map<std::string, std::vector<std::string>, std::less<>> all_values;
  std::vector<std::string> positional;
  bool help = false;
  // How many input arguments were consumed (see ParseArgs).
  size_t consumed = 0;

  bool Has(absl::string_view name) const;
  std::optional<std::string> Get(absl::string_view name) const;
  // Every value of a repeatable option, in order; empty if it was not given.
  std::vector<std::string> GetAll(absl::string_view name) const;
  // True if the switch was given and not set to false.
  bool IsSet(absl::string_view name) const;
};

// Parses `args` against `specs`. With `stop_at_positional`, parsing ends just
// before the first positional argument (used to find the command name after
// the global options); `consumed` tells where it stopped. Errors are
// INVALID_ARGUMENT with a message meant for the user, e.g.
// "unknown option --sever (did you mean --server?)".
absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs,
                                     bool stop_at_positional = false);

// The candidate closest to `word` by edit distance if it is close enough to
// be a likely typo, else nullopt.
std::optional<std::string> SuggestClosest(absl::string_view word,
                                          std::span<const absl::string_view> candidates);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_ARGS_H_
