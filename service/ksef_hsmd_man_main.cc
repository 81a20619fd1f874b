// Writes the ksef-hsmd(8) man page, rendered from the --help text
// (service/daemon_usage.h) by common/man_page.h, to the file named by its
// one argument. Run by the build (service/CMakeLists.txt), not installed.
#include <cstdio>
#include <string>

#include "common/build_info.h"
#include "common/man_page.h"
#include "service/daemon_usage.h"

namespace {

// What the man page adds to --help: where the Debian package puts things.
constexpr char kTrailer[] =
    "Files:\n"
    "  /etc/ksef-hsm/ksef-hsmd.conf    the configuration the packaged unit starts with\n"
    "  /etc/ksef-hsm/softhsm2.conf     SoftHSM2's configuration: its token directory\n"
    "  /etc/ksef-hsm/policy.conf       the access policy (policy_file)\n"
    "  /var/lib/ksef-hsm/              state_dir: key registry, audit log, audit anchor,\n"
    "                                  SoftHSM2 tokens\n"
    "  /lib/systemd/system/ksef-hsmd.service\n"
    "                                  the hardened systemd unit (user ksef-hsm)\n"
    "\n"
    "See also:\n"
    "  ksef-hsm(1), softhsm2-util(1), systemd.exec(5)\n"
    "  /usr/share/doc/ksef-hsm/: configuration.md (every option), operations.md\n"
    "  (installing, the unit, HSMs, TLS, backups), security.md\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.8\n", argv[0]);
    return 2;
  }
  const std::string source = "ksef-hsm " + std::string(ksef::build_info::Version());
  ksef::ManPage page{.name = "ksef-hsmd",
                     .section = 8,
                     .source = source,
                     .manual = "System Administration",
                     .help = ksef::service::DaemonUsage(),
                     .trailer = kTrailer};
  if (absl::Status written = ksef::WriteManPage(page, argv[1]); !written.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}
