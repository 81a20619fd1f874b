#include "client/cli/help.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ksef::client {
namespace {

constexpr size_t kWrapWidth = 80;

// "--name VALUE" as shown in option lists.
std::string FlagLabel(const FlagSpec& flag) {
  std::string label = absl::StrCat("--", flag.name);
  if (flag.takes_value()) absl::StrAppend(&label, " ", flag.value_name);
  return label;
}

// Appends "  <label><pad><text>", wrapping `text` at kWrapWidth with the
// continuation lines indented to the text column.
void AppendItem(std::string* out, absl::string_view label, size_t label_width,
                absl::string_view text) {
  const size_t indent = 2 + label_width + 2;
  std::string line = absl::StrCat("  ", label, std::string(label_width - label.size() + 2, ' '));
  bool first_word = true;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!first_word && line.size() + 1 + word.size() > kWrapWidth) {
      absl::StrAppend(out, line, "\n");
      line = std::string(indent, ' ');
      first_word = true;
    }
    if (!first_word) line.push_back(' ');
    absl::StrAppend(&line, word);
    first_word = false;
  }
  absl::StrAppend(out, line, "\n");
}

void AppendFlags(std::string* out, std::span<const FlagSpec> flags, bool with_help) {
  size_t width = with_help ? absl::string_view("-h, --help").size() : 0;
  for (const FlagSpec& flag : flags) width = std::max(width, FlagLabel(flag).size());
  for (const FlagSpec& flag : flags) AppendItem(out, FlagLabel(flag), width, flag.help);
  if (with_help)
    AppendItem(out, "-h, --help", width,
               "this help; \"ksef-hsm <command> --help\" for one command");
}

void AppendCommandList(std::string* out) {
  size_t width = 0;
  for (const CommandSpec& command : AllCommands()) width = std::max(width, command.name.size());
  for (const CommandSpec& command : AllCommands()) {
    AppendItem(out, command.name, width, command.summary);
  }
}

constexpr absl::string_view kIntro =
    "ksef-hsm - command-line client for ksef-hsmd, the KSeF key service\n"
    "\n"
    "ksef-hsmd keeps the private keys used with KSeF (Krajowy System e-Faktur,\n"
    "Poland's National e-Invoice System) inside a PKCS#11 HSM. The keys never leave\n"
    "the HSM: with this tool you create keys (or import existing ones), request their\n"
    "KSeF certificates (csr, then import-cert), look at them, export their public\n"
    "halves and move them through their life cycle. It talks to ksef-hsmd over gRPC,\n"
    "normally with mutual TLS (a CA certificate to check the server, and a client\n"
    "certificate and key to identify yourself).\n";

constexpr absl::string_view kUsage =
    "Usage:\n"
    "  ksef-hsm [global options] <command> [command options]\n"
    "  ksef-hsm <command> --help        details and examples for one command\n";

constexpr absl::string_view kSettings =
    "Each connection setting comes from its flag, else its environment variable, else\n"
    "the client config file (--config FILE or KSEF_HSM_CLIENT_CONFIG), else the default:\n"
    "\n"
    "  flag           environment variable   config file key\n"
    "  --server       KSEF_HSM_SERVER        server\n"
    "  --ca-cert      KSEF_HSM_CA_CERT       ca_cert\n"
    "  --client-cert  KSEF_HSM_CLIENT_CERT   client_cert\n"
    "  --client-key   KSEF_HSM_CLIENT_KEY    client_key\n"
    "  --server-name  KSEF_HSM_SERVER_NAME   server_name\n"
    "  --plaintext    KSEF_HSM_PLAINTEXT     plaintext (true or false)\n"
    "  --timeout      KSEF_HSM_TIMEOUT       timeout\n"
    "\n"
    "The config file has one \"key = value\" per line; '#' starts a comment, and\n"
    "relative paths are relative to the file's directory. For example:\n"
    "\n"
    "  # /etc/ksef-hsm/client.conf\n"
    "  server      = hsm.example.internal:7443\n"
    "  ca_cert     = ca.pem\n"
    "  client_cert = operator.pem\n"
    "  client_key  = operator.key\n"
    "  timeout     = 10s\n";

constexpr absl::string_view kOutro =
    "Keys are named keys/ID; the ID alone works too, and so does the key's pkcs11: URI.\n"
    "\n"
    "Examples:\n"
    "  ksef-hsm --config /etc/ksef-hsm/client.conf health\n"
    "  ksef-hsm create-key --subject-type nip --subject 5260250274 --purpose authentication\n"
    "  ksef-hsm csr acme-auth-1 --enrollment-data enrollment-data.json > enrollment.json\n"
    "  ksef-hsm import-cert acme-auth-1 --cert retrieve-response.json\n"
    "  ksef-hsm list-keys --state active --all\n"
    "  ksef-hsm --json get-key acme-auth-1\n"
    "\n"
    "Exit status: 0 success; 1 the server returned an error, health is not SERVING, or\n"
    "check-consistency or audit verify found a problem; 2 bad command line, unreadable\n"
    "input file or client configuration.\n";

}  // namespace

std::string GlobalHelp() {
  std::string out = absl::StrCat(kIntro, "\n", kUsage, "\nCommands:\n");
  AppendCommandList(&out);
  absl::StrAppend(&out, "\nGlobal options (before or after the command):\n");
  AppendFlags(&out, GlobalFlags(), /*with_help=*/true);
  absl::StrAppend(&out, "\n", kSettings, "\n", kOutro);
  return out;
}

std::string ShortUsage() {
  std::string out = absl::StrCat(kUsage, "\nCommands:\n");
  AppendCommandList(&out);
  absl::StrAppend(&out, "\nRun \"ksef-hsm --help\" for the options and examples.\n");
  return out;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string prefix = absl::StrCat("  ksef-hsm [global options] ", command.name);
  std::string out =
      absl::StrCat("ksef-hsm ", command.name, " - ", command.summary, "\n\nUsage:\n", prefix);
  // `arguments` may hold line breaks; continuation lines line up after the command.
  bool first_line = true;
  for (absl::string_view line : absl::StrSplit(command.arguments, '\n', absl::SkipEmpty())) {
    absl::StrAppend(
        &out, first_line ? " " : absl::StrCat("\n", std::string(prefix.size() + 1, ' ')), line);
    first_line = false;
  }
  absl::StrAppend(&out, "\n\n", command.description, "\n");
  if (std::any_of(command.positionals.begin(), command.positionals.end(),
                  [](absl::string_view p) { return p == "NAME" || p == "[NAME]"; })) {
    absl::StrAppend(&out, "\n", KeyNameHelp(), "\n");
  }
  if (!command.flags.empty()) {
    absl::StrAppend(&out, "\nOptions:\n");
    AppendFlags(&out, command.flags, /*with_help=*/false);
  }
  absl::StrAppend(&out, command.examples.size() == 1 ? "\nExample:\n" : "\nExamples:\n");
  for (absl::string_view example : command.examples) absl::StrAppend(&out, "  ", example, "\n");
  absl::StrAppend(&out,
                  "\nGlobal options (--server, --ca-cert, --client-cert, --client-key, --json, "
                  "...)\nare described in \"ksef-hsm --help\".\n");
  return out;
}

}  // namespace ksef::client
