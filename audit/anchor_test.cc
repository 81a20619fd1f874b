// The anchor line format and the file sink.
#include "audit/anchor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/softhsm_token.h"

namespace ksef::audit {
namespace {

using ::testing::HasSubstr;

Checkpoint Sample() {
  Checkpoint cp;
  cp.node = "node a/ż";
  cp.seq = 42;
  cp.head_hash = std::string(32, '\x11');
  cp.time = absl::FromUnixMicros(1'700'000'000'123'456);
  cp.prev_hash = std::string(32, '\x22');
  cp.count = 7;
  cp.closing = true;
  cp.signature = std::string(64, '\x33');
  cp.public_key_der = "spki";
  return cp;
}

TEST(AnchorLineTest, RoundTripsEveryField) {
  const Checkpoint cp = Sample();
  const std::string line = FormatAnchorLine(cp);
  EXPECT_THAT(line, HasSubstr("ksef-hsm-audit-anchor v=2 node=node%20a%2F%C5%BC seq=42 "));
  EXPECT_THAT(line, HasSubstr(" key_sha256=" + KeyFingerprint("spki")));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto r = ParseAnchorLine(line);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(CheckpointDigest(r->checkpoint), CheckpointDigest(cp));
  EXPECT_EQ(r->checkpoint.node, cp.node);
  EXPECT_EQ(r->checkpoint.signature, cp.signature);
  EXPECT_EQ(r->key_sha256, KeyFingerprint("spki"));
}

TEST(AnchorLineTest, RefusesMalformedLines) {
  EXPECT_FALSE(ParseAnchorLine("hello").ok());
  std::string line = FormatAnchorLine(Sample());
  auto bad_seq = ParseAnchorLine(line.replace(line.find("seq=42"), 6, "seq=x"));
  EXPECT_THAT(bad_seq.status().message(), HasSubstr("\"seq\""));
}

TEST(FileAnchorTest, AppendsPrivateLinesAndSkipsATornLastOne) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-anchor");
  const std::string path = dir + "/anchor.log";
  {
    auto anchor = FileAnchor::Open(path).value();
    ASSERT_TRUE(anchor->Append(Sample()).ok());
  }
  {
    auto reopened = FileAnchor::Open(path).value();  // appends, never truncates
    Checkpoint next = Sample();
    next.seq = 43;
    ASSERT_TRUE(reopened->Append(next).ok());
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ofstream(path, std::ios::app) << "ksef-hsm-audit-anchor v=2 node=x seq=4";  // torn
  auto records = ReadAnchorFile(path);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].checkpoint.seq, 42);
  EXPECT_EQ((*records)[1].checkpoint.seq, 43);
  EXPECT_EQ((*records)[1].line, 2);
  std::ofstream(path, std::ios::app) << "\ngarbage\n";
  auto bad = ReadAnchorFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 3"));
  EXPECT_EQ(ReadAnchorFile(dir + "/none").status().code(), absl::StatusCode::kNotFound);
  ksef::testing::RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace ksef::audit
