// Writes the ksef-hsm(1) man page, rendered from the --help texts
// (client/cli/help.h: "ksef-hsm --help" and every "ksef-hsm <command>
// --help") by common/man_page.h, to the file named by its one argument. Run
// by the build (client/cli/CMakeLists.txt), not installed.
#include <cstdio>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/help.h"
#include "common/build_info.h"
#include "common/man_page.h"

namespace {

// What the man page adds to --help.
constexpr char kTrailer[] =
    "See also:\n"
    "  ksef-hsmd(8)\n"
    "  /usr/share/doc/ksef-hsm/: configuration.md (the client configuration file),\n"
    "  operations.md (key lifecycle, enrollment, audit)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.1\n", argv[0]);
    return 2;
  }
  const std::string source = "ksef-hsm " + std::string(ksef::build_info::Version());
  const std::string help = ksef::client::GlobalHelp();
  ksef::ManPage page{.name = "ksef-hsm",
                     .section = 1,
                     .source = source,
                     .manual = "User Commands",
                     .help = help,
                     .details_title = "Commands in detail",
                     .trailer = kTrailer};
  for (const ksef::client::CommandSpec& command : ksef::client::AllCommands()) {
    page.details.push_back(ksef::client::CommandHelp(command));
  }
  if (absl::Status written = ksef::WriteManPage(page, argv[1]); !written.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}
