#include "common/man_page.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ksef {
namespace {

// One line of text as roff text (escapes: see man_page.h).
std::string Escape(absl::string_view text) {
  std::string out;
  if (!text.empty() && (text[0] == '.' || text[0] == '\'')) out = "\\&";
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A macro argument in double quotes.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : Escape(text)) {
    if (c == '"') {
      out += "\\(dq";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

bool Indented(absl::string_view line) { return !line.empty() && line[0] == ' '; }

std::string SectionTitle(absl::string_view heading) {
  std::string title = absl::AsciiStrToUpper(heading);
  return title == "USAGE" ? "SYNOPSIS" : title;
}

// Renders the blocks of `lines`. `top`: headings are sections (.SH), and
// text before the first one goes under DESCRIPTION; else bold lines.
std::string RenderBlocks(const std::vector<absl::string_view>& lines, bool top) {
  std::string out;
  bool in_section = !top;
  size_t i = 0;
  while (i < lines.size()) {
    if (lines[i].empty()) {
      ++i;
      continue;
    }
    const bool heading = !Indented(lines[i]) && lines[i].back() == ':' &&
                         i + 1 < lines.size() && Indented(lines[i + 1]);
    if (heading) {
      absl::string_view text = absl::StripSuffix(lines[i], ":");
      out += top ? absl::StrCat(".SH ", Quoted(SectionTitle(text)), "\n")
                 : absl::StrCat(".PP\n.B ", Quoted(text), "\n");
      in_section = true;
      ++i;
      continue;
    }
    if (!in_section) {
      out += ".SH DESCRIPTION\n";
      in_section = true;
    }
    if (Indented(lines[i])) {
      out += ".PP\n.nf\n";
      for (; i < lines.size() && Indented(lines[i]); ++i) absl::StrAppend(&out, Escape(lines[i]), "\n");
      out += ".fi\n";
    } else {
      out += ".PP\n";
      for (; i < lines.size() && !lines[i].empty() && !Indented(lines[i]); ++i) {
        absl::StrAppend(&out, Escape(lines[i]), "\n");
      }
    }
  }
  return out;
}

std::vector<absl::string_view> Lines(absl::string_view text) {
  return absl::StrSplit(text, '\n');
}

}  // namespace

std::string RenderManPage(const ManPage& page) {
  std::vector<absl::string_view> lines = Lines(page.help);
  std::string out = absl::StrCat(".TH ", Quoted(absl::AsciiStrToUpper(page.name)), " ",
                                 page.section, " \"\" ", Quoted(page.source), " ",
                                 Quoted(page.manual), "\n");
  // NAME: "<name> \- <summary>", from the first line.
  absl::string_view first = lines.empty() ? absl::string_view() : lines.front();
  absl::string_view summary = first;
  if (size_t dash = first.find(" - "); dash != absl::string_view::npos) {
    summary = first.substr(dash + 3);
  }
  absl::StrAppend(&out, ".SH NAME\n", Escape(page.name), " \\- ", Escape(summary), "\n");
  if (!lines.empty()) lines.erase(lines.begin());
  out += RenderBlocks(lines, /*top=*/true);
  if (!page.details.empty()) {
    absl::StrAppend(&out, ".SH ", Quoted(SectionTitle(page.details_title)), "\n");
    for (const std::string& detail : page.details) {
      std::vector<absl::string_view> detail_lines = Lines(detail);
      absl::StrAppend(&out, ".SS ", Quoted(detail_lines.front()), "\n");
      detail_lines.erase(detail_lines.begin());
      out += RenderBlocks(detail_lines, /*top=*/false);
    }
  }
  if (!page.trailer.empty()) out += RenderBlocks(Lines(page.trailer), /*top=*/true);
  return out;
}

absl::Status WriteManPage(const ManPage& page, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << RenderManPage(page);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace ksef
