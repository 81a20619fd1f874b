#include "common/man_page.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHelp[] =
    "tool - does things\n"
    "\n"
    "A paragraph about the tool,\n"
    "ending with a colon here:\n"
    "  an indented block after a paragraph\n"
    "\n"
    "Usage:\n"
    "  tool --flag FILE\n"
    "\n"
    "Options:\n"
    "  --dry-run   no changes\n"
    "  -h          help\n"
    "\n"
    ".starts with a dot, 'and \\ a backslash\n"
    "'quoted\n";

TEST(ManPageTest, SectionsParagraphsAndBlocks) {
  std::string page = RenderManPage({.name = "tool",
                                    .section = 8,
                                    .source = "pkg 1.2.3",
                                    .manual = "System Administration",
                                    .help = kHelp});
  EXPECT_EQ(page,
            ".TH \"TOOL\" 8 \"\" \"pkg 1.2.3\" \"System Administration\"\n"
            ".SH NAME\n"
            "tool \\- does things\n"
            ".SH DESCRIPTION\n"
            ".PP\n"
            "A paragraph about the tool,\n"
            "ending with a colon here:\n"
            ".PP\n"
            ".nf\n"
            "  an indented block after a paragraph\n"
            ".fi\n"
            ".SH \"SYNOPSIS\"\n"
            ".PP\n"
            ".nf\n"
            "  tool \\-\\-flag FILE\n"
            ".fi\n"
            ".SH \"OPTIONS\"\n"
            ".PP\n"
            ".nf\n"
            "  \\-\\-dry\\-run   no changes\n"
            "  \\-h          help\n"
            ".fi\n"
            ".PP\n"
            "\\&.starts with a dot, 'and \\e a backslash\n"
            "\\&'quoted\n");
}

TEST(ManPageTest, DetailsAreSubsectionsWithBoldHeadings) {
  std::string page = RenderManPage({.name = "cli",
                                    .section = 1,
                                    .source = "pkg 1",
                                    .manual = "User Commands",
                                    .help = "cli - a client\n\nIntro.\n",
                                    .details_title = "Commands in detail",
                                    .details = {"cli go - go \"there\"\n\nOptions:\n  --far  yes\n"},
                                    .trailer = "See also:\n  srv(8)\n"});
  EXPECT_THAT(page, HasSubstr(".SH \"COMMANDS IN DETAIL\"\n"
                              ".SS \"cli go \\- go \\(dqthere\\(dq\"\n"
                              ".PP\n.B \"Options\"\n"
                              ".PP\n.nf\n  \\-\\-far  yes\n.fi\n"
                              ".SH \"SEE ALSO\"\n"
                              ".PP\n.nf\n  srv(8)\n.fi\n"));
  EXPECT_THAT(page, Not(HasSubstr(".SH \"OPTIONS\"")));
}

TEST(ManPageTest, WriteFailsOnAnUnwritablePath) {
  absl::Status written =
      WriteManPage({.name = "x", .help = "x - y\n"}, "/nonexistent-dir/x.1");
  EXPECT_EQ(written.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(written.message(), HasSubstr("/nonexistent-dir/x.1"));
}

}  // namespace
}  // namespace ksef
