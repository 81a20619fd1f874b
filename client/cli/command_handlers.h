// Handlers behind the entries of the command table (commands.cc). Each
// validates its arguments first (usage errors: kExitUsage, before any
// connection is made), then makes its call(s) and prints the result.
#ifndef KSEF_CLIENT_CLI_COMMAND_HANDLERS_H_
#define KSEF_CLIENT_CLI_COMMAND_HANDLERS_H_

namespace ksef::client {

class CommandContext;

int RunCreateKey(CommandContext& ctx);
int RunGetKey(CommandContext& ctx);
int RunListKeys(CommandContext& ctx);
int RunPublicKey(CommandContext& ctx);
int RunDisableKey(CommandContext& ctx);
int RunSetUsageLimit(CommandContext& ctx);
int RunEnableKey(CommandContext& ctx);
int RunScheduleDestruction(CommandContext& ctx);
int RunRestoreKey(CommandContext& ctx);
// Exit kExitFailure when the report finds a discrepancy.
int RunCheckConsistency(CommandContext& ctx);
// Exit kExitOk only for SERVING.
int RunHealth(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_COMMAND_HANDLERS_H_
