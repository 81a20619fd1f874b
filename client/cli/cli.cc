#include "client/cli/cli.h"

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/args.h"
#include "client/cli/command_context.h"
#include "client/cli/commands.h"
#include "client/cli/help.h"
#include "common/build_info.h"

namespace ksef::client {
namespace {

int GlobalUsageError(std::ostream& err, absl::string_view message) {
  err << "ksef-hsm: " << message << "\nsee ksef-hsm --help\n";
  return kExitUsage;
}

int CommandUsageError(std::ostream& err, const CommandSpec& command, absl::string_view message) {
  err << "ksef-hsm: " << command.name << ": " << message << "\nsee ksef-hsm " << command.name
      << " --help\n";
  return kExitUsage;
}

int UnknownCommand(std::ostream& err, absl::string_view name) {
  std::vector<absl::string_view> names;
  for (const CommandSpec& command : AllCommands()) names.push_back(command.name);
  std::string message = absl::StrCat("unknown command \"", name, "\"");
  if (std::optional<std::string> guess = SuggestClosest(name, names); guess.has_value()) {
    absl::StrAppend(&message, " (did you mean ", *guess, "?)");
  }
  return GlobalUsageError(err, message);
}

// "ksef-hsm --version", before or after a command.
int PrintVersion(std::ostream& out) {
  out << build_info::VersionLine("ksef-hsm") << "\n";
  return kExitOk;
}

// "ksef-hsm help [COMMAND]".
int RunHelpCommand(std::span<const std::string> rest, std::ostream& out, std::ostream& err) {
  if (rest.size() <= 1) {
    out << GlobalHelp();
    return kExitOk;
  }
  const CommandSpec* command = FindCommand(rest[1]);
  if (command == nullptr) return UnknownCommand(err, rest[1]);
  out << CommandHelp(*command);
  return kExitOk;
}

// The connection settings given as flags.
absl::StatusOr<ConnectionSettings> SettingsFromFlags(const ParsedArgs& flags) {
  ConnectionSettings settings;
  settings.server = flags.Get("server");
  settings.ca_cert = flags.Get("ca-cert");
  settings.client_cert = flags.Get("client-cert");
  settings.client_key = flags.Get("client-key");
  settings.server_name = flags.Get("server-name");
  if (flags.Has("plaintext")) settings.plaintext = flags.IsSet("plaintext");
  if (std::optional<std::string> timeout = flags.Get("timeout"); timeout.has_value()) {
    absl::StatusOr<absl::Duration> parsed = ParseTimeoutSetting(*timeout, "--timeout");
    if (!parsed.ok()) return parsed.status();
    settings.timeout = *parsed;
  }
  return settings;
}

// RunCli with optional standard input (nullptr: none).
int RunCliWithInput(std::span<const std::string> args, std::istream* in, std::ostream& out,
                    std::ostream& err, const EnvLookup& env);

}  // namespace

int RunCli(std::span<const std::string> args, std::ostream& out, std::ostream& err,
           const EnvLookup& env) {
  return RunCliWithInput(args, nullptr, out, err, env);
}

int RunCli(std::span<const std::string> args, std::istream& in, std::ostream& out,
           std::ostream& err, const EnvLookup& env) {
  return RunCliWithInput(args, &in, out, err, env);
}

namespace {

int RunCliWithInput(std::span<const std::string> args, std::istream* in, std::ostream& out,
                    std::ostream& err, const EnvLookup& env) {
  absl::StatusOr<ParsedArgs> globals = ParseArgs(args, GlobalFlags(), /*stop_at_positional=*/true);
  if (!globals.ok()) return GlobalUsageError(err, globals.status().message());
  std::span<const std::string> rest = args.subspan(globals->consumed);
  if (globals->IsSet("version")) return PrintVersion(out);
  if (rest.empty()) {
    if (globals->help) {
      out << GlobalHelp();
      return kExitOk;
    }
    err << "ksef-hsm: missing command\n\n" << ShortUsage();
    return kExitUsage;
  }
  if (rest[0] == "help") return RunHelpCommand(rest, out, err);
  const CommandSpec* command = FindCommand(rest[0]);
  if (command == nullptr) return UnknownCommand(err, rest[0]);

  // After the command, both its own options and the global ones are accepted.
  std::vector<FlagSpec> specs = command->flags;
  specs.insert(specs.end(), GlobalFlags().begin(), GlobalFlags().end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest.subspan(1), specs);
  if (!parsed.ok()) return CommandUsageError(err, *command, parsed.status().message());
  if (globals->help || parsed->help) {
    out << CommandHelp(*command);
    return kExitOk;
  }
  if (parsed->IsSet("version")) return PrintVersion(out);
  const size_t wanted = command->positionals.size();
  size_t required = 0;
  while (required < wanted && !absl::StartsWith(command->positionals[required], "[")) ++required;
  if (parsed->positional.size() < required) {
    std::vector<absl::string_view> missing(command->positionals.begin() + parsed->positional.size(),
                                           command->positionals.begin() + required);
    return CommandUsageError(err, *command, absl::StrCat("missing ", absl::StrJoin(missing, " ")));
  }
  // A last positional "PATH..." takes any number; its handler checks them.
  const bool variadic = wanted > 0 && absl::EndsWith(command->positionals.back(), "...");
  if (!variadic && parsed->positional.size() > wanted) {
    return CommandUsageError(
        err, *command, absl::StrCat("unexpected argument \"", parsed->positional[wanted], "\""));
  }

  // Global options after the command win over the same ones before it.
  ParsedArgs global_values = *globals;
  for (const FlagSpec& flag : GlobalFlags()) {
    if (std::optional<std::string> value = parsed->Get(flag.name); value.has_value()) {
      global_values.values.insert_or_assign(std::string(flag.name), *value);
    }
  }
  absl::StatusOr<ConnectionSettings> flag_settings = SettingsFromFlags(global_values);
  if (!flag_settings.ok()) return GlobalUsageError(err, flag_settings.status().message());
  absl::StatusOr<ConnectionOptions> options =
      ResolveConnectionOptions(*flag_settings, global_values.Get("config"), env);
  if (!options.ok()) {
    err << "ksef-hsm: " << options.status().message() << "\n";
    return kExitUsage;
  }

  if (in == nullptr) {
    CommandContext context(*command, *std::move(parsed), *std::move(options),
                           global_values.IsSet("json"), out, err);
    return command->run(context);
  }
  CommandContext context(*command, *std::move(parsed), *std::move(options),
                         global_values.IsSet("json"), *in, out, err);
  return command->run(context);
}

}  // namespace

}  // namespace ksef::client
