// Man pages rendered from --help text, so that a program's man page and its
// --help come from one source (service/daemon_usage.h for ksef-hsmd(8),
// client/cli/help.h for ksef-hsm(1); their generators run at build time).
//
// The help text is read as the help texts of this project are written:
//   - the first line is "<name> - <summary>" (NAME section);
//   - blank lines separate blocks;
//   - a line at column 0 that ends in ':', alone at the start of a block and
//     followed by an indented line, is a heading ("Options:"): a section
//     (.SH, upper case; "Usage:" becomes SYNOPSIS) at the top level, a bold
//     line inside a subsection;
//   - other lines at column 0 are a paragraph, filled by the man reader;
//   - indented lines are kept as they are (.nf), with their indentation:
//     option lists, examples and tables line up as in --help.
// Text before the first heading becomes DESCRIPTION. Every '-' is written
// as \- (an ASCII minus in the rendered page, so options can be pasted),
// '\' as \e, and a line starting with '.' or '\'' is protected with \&.
#ifndef KSEF_COMMON_MAN_PAGE_H_
#define KSEF_COMMON_MAN_PAGE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef {

struct ManPage {
  absl::string_view name;    // "ksef-hsmd"
  int section = 1;          // 1 user commands, 8 system administration
  absl::string_view source;  // footer, e.g. "ksef-hsm 0.1.0"
  absl::string_view manual;  // header, e.g. "System Administration"
  absl::string_view help;    // the --help text (layout above)
  // Optional: a section of subsections (.SS), one per help text whose first
  // line is the subsection's title (ksef-hsm(1): "ksef-hsm <command> --help").
  absl::string_view details_title;
  std::vector<std::string> details;
  // Optional: more top-level sections in the same layout, for what a man page
  // has and --help does not ("Files:", "See also:").
  absl::string_view trailer;
};

// The page in roff (man macros).
std::string RenderManPage(const ManPage& page);

// RenderManPage into the file `path` (replaced). INTERNAL if it cannot be
// written.
absl::Status WriteManPage(const ManPage& page, const std::string& path);

}  // namespace ksef

#endif  // KSEF_COMMON_MAN_PAGE_H_
