// The text of "ksef-hsm --help" and "ksef-hsm <command> --help". Written for
// someone who has never used the tool: what it is for, then the options, then
// examples that can be pasted.
#ifndef KSEF_CLIENT_CLI_HELP_H_
#define KSEF_CLIENT_CLI_HELP_H_

#include <string>

#include "client/cli/commands.h"

namespace ksef::client {

// The full overview: purpose, usage, commands, global options, config file,
// examples, exit statuses.
std::string GlobalHelp();

// Usage line and command list, for a command line without a command.
std::string ShortUsage();

// One command: usage, description, options, examples.
std::string CommandHelp(const CommandSpec& command);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_HELP_H_
