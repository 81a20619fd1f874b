// The ksef-hsm commands: their names, help text, options and handlers.
// RunCli (cli.h) finds a command here, parses its options and runs it.
#ifndef KSEF_CLIENT_CLI_COMMANDS_H_
#define KSEF_CLIENT_CLI_COMMANDS_H_

#include <span>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/cli/args.h"

namespace ksef::client {

class CommandContext;

// Process exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the server said no (or: not healthy/consistent)
inline constexpr int kExitUsage = 2;    // bad command line or client configuration

struct CommandSpec {
  absl::string_view name;                   // "get-key"
  absl::string_view summary;                // one line for the command list
  absl::string_view arguments;              // "NAME [--der-out FILE]", for usage lines
  absl::string_view description;            // paragraphs for "<command> --help"
  std::vector<absl::string_view> examples;  // full command lines
  std::vector<FlagSpec> flags;              // options of this command only
  // Positional arguments, in order. Required ones first; an optional one is
  // written in brackets ("[NAME]") and may only be followed by optional ones,
  // or by a last one ending in "..." ("PATH..."), which takes any number of
  // arguments (none included): the handler checks what it got.
  std::vector<absl::string_view> positionals;
  int (*run)(CommandContext& context);
};

// Every command, in the order shown by --help.
std::span<const CommandSpec> AllCommands();

// nullptr if there is no such command.
const CommandSpec* FindCommand(absl::string_view name);

// Options accepted before and after any command (--server, --json, ...).
std::span<const FlagSpec> GlobalFlags();

// What NAME may be, for the help of the commands that take one.
absl::string_view KeyNameHelp();

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_COMMANDS_H_
