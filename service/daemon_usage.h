// The text of "ksef-hsmd --help". It is also the one source of the
// ksef-hsmd(8) man page (service/ksef_hsmd_man_main.cc, common/man_page.h),
// so it follows the layout man_page.h reads: a "name - summary" first line,
// paragraphs, and headings ("Options:") over indented blocks.
#ifndef KSEF_SERVICE_DAEMON_USAGE_H_
#define KSEF_SERVICE_DAEMON_USAGE_H_

#include "absl/strings/string_view.h"

namespace ksef::service {

absl::string_view DaemonUsage();

}  // namespace ksef::service

#endif  // KSEF_SERVICE_DAEMON_USAGE_H_
