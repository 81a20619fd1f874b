#include "common/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/sqlite.h"

namespace ksef {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ksef-files-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `content` to dir_/name with exactly `mode` (whatever the umask).
  std::string File(const std::string& name, mode_t mode, const std::string& content = "x\n") {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string dir_;
};

TEST_F(FilesTest, TrustedFileAcceptsOwnerWritableFiles) {
  EXPECT_TRUE(CheckTrustedFile(File("a.conf", 0644), "config file", false).ok());
  EXPECT_TRUE(CheckTrustedFile(File("b.conf", 0640), "config file", false).ok());
  EXPECT_TRUE(CheckTrustedFile(File("c.conf", 0600), "config file", false).ok());
  EXPECT_TRUE(CheckTrustedFile(File("pin", 0600), "pin_file", true).ok());
  EXPECT_TRUE(CheckTrustedFile(File("pin-ro", 0400), "pin_file", true).ok());
}

TEST_F(FilesTest, TrustedFileRefusesWorldWritable) {
  std::string path = File("ksef-hsmd.conf", 0646);
  absl::Status s = CheckTrustedFile(path, "config file", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("config file " + path), HasSubstr("mode 0646"),
                                 HasSubstr("owner "), HasSubstr("chmod go-w " + path)));
}

TEST_F(FilesTest, TrustedFileRefusesGroupWritable) {
  std::string path = File("policy.conf", 0664);
  absl::Status s = CheckTrustedFile(path, "policy file", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("policy file " + path), HasSubstr("mode 0664"),
                                 HasSubstr("writable by group or others")));
}

TEST_F(FilesTest, SecretFileMustNotBeReadableByOthers) {
  for (mode_t mode : {0640, 0604, 0660, 0620}) {
    std::string path = File("pin", mode);
    absl::Status s = CheckTrustedFile(path, "pin_file", true);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << std::oct << mode;
    EXPECT_THAT(s.message(), HasSubstr("chmod 600 " + path));
  }
  // The same modes are fine for a file that is not secret but not writable.
  EXPECT_TRUE(CheckTrustedFile(File("conf", 0644), "config file", false).ok());
}

TEST_F(FilesTest, TrustedFileRefusesForeignOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to nobody";
  std::string path = File("policy.conf", 0644);
  ASSERT_EQ(::chown(path.c_str(), kNobody, kNobody), 0);
  absl::Status s = CheckTrustedFile(path, "policy file", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("is owned by nobody (uid 65534) (mode 0644)"),
                                 HasSubstr("not by root (uid 0)"),
                                 HasSubstr("run: chown root " + path)));
  // Owned by root (this process's user) again: accepted.
  ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
  EXPECT_TRUE(CheckTrustedFile(path, "policy file", false).ok());
}

TEST_F(FilesTest, SymlinksAreJudgedByTheirTarget) {
  std::string good = File("good.conf", 0644);
  std::string bad = File("bad.conf", 0666);
  std::string to_good = dir_ + "/to-good.conf";
  std::string to_bad = dir_ + "/to-bad.conf";
  ASSERT_EQ(::symlink(good.c_str(), to_good.c_str()), 0);
  ASSERT_EQ(::symlink(bad.c_str(), to_bad.c_str()), 0);
  // A symlink's own mode (0777 on Linux) does not matter; the target's does.
  EXPECT_TRUE(CheckTrustedFile(to_good, "config file", false).ok());
  absl::Status s = CheckTrustedFile(to_bad, "config file", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(to_bad), HasSubstr("mode 0666")));
  EXPECT_EQ(ReadTrustedFile(to_bad, "config file", false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadTrustedFile(to_good, "config file", false), "x\n");
}

TEST_F(FilesTest, TrustedFileMissingOrNotRegular) {
  EXPECT_EQ(CheckTrustedFile(dir_ + "/none", "config file", false).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadTrustedFile(dir_ + "/none", "config file", false).status().code(),
            absl::StatusCode::kNotFound);
  absl::Status s = CheckTrustedFile(dir_, "config file", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("not a regular file"));
}

TEST_F(FilesTest, ReadTrustedFileReturnsContentOrRefuses) {
  EXPECT_EQ(*ReadTrustedFile(File("ok.conf", 0644, "a = b\n"), "config file", false), "a = b\n");
  auto loose = ReadTrustedFile(File("loose.conf", 0622, "a = b\n"), "config file", false);
  EXPECT_EQ(loose.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FilesTest, ReadSecretFileAppliesTheSecretRule) {
  auto pin = ReadSecretFile(File("pin", 0600, "1234\n"));
  ASSERT_TRUE(pin.ok()) << pin.status();
  EXPECT_EQ(pin->size(), 4u);
  EXPECT_EQ(ReadSecretFile(File("pin2", 0644, "1234\n")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadSecretFile(File("pin3", 0600, "\n")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(FilesTest, MakePrivateDirectoryCreatesAndTightens) {
  const mode_t old_umask = ::umask(022);
  std::string fresh = dir_ + "/a/state";
  EXPECT_TRUE(MakePrivateDirectory(fresh).ok());
  EXPECT_EQ(ModeOf(fresh), 0700u);

  std::string loose = dir_ + "/loose";
  ASSERT_EQ(::mkdir(loose.c_str(), 0755), 0);
  EXPECT_TRUE(MakePrivateDirectory(loose).ok());
  EXPECT_EQ(ModeOf(loose), 0700u);
  ::umask(old_umask);

  EXPECT_EQ(MakePrivateDirectory(File("file", 0600)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(FilesTest, MakePrivateDirectoryRefusesForeignLooseDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a directory to nobody";
  std::string foreign = dir_ + "/foreign";
  ASSERT_EQ(::mkdir(foreign.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(foreign.c_str(), 0755), 0);
  ASSERT_EQ(::chown(foreign.c_str(), kNobody, kNobody), 0);
  absl::Status s = MakePrivateDirectory(foreign);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("chown root " + foreign));
  EXPECT_EQ(ModeOf(foreign), 0755u);  // not changed behind the owner's back
}

TEST_F(FilesTest, TightenPrivateFile) {
  std::string path = File("keys.db", 0644);
  EXPECT_TRUE(TightenPrivateFile(path).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_TRUE(TightenPrivateFile(dir_ + "/missing").ok());
  if (::geteuid() == 0) {
    std::string foreign = File("foreign.db", 0644);
    ASSERT_EQ(::chown(foreign.c_str(), kNobody, kNobody), 0);
    EXPECT_EQ(TightenPrivateFile(foreign).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ModeOf(foreign), 0644u);
  }
}

// SQLite gives -wal and -shm the database file's mode, so a database created
// 0600 keeps all three private even under a permissive umask.
TEST_F(FilesTest, SqliteFilesArePrivateUnderPermissiveUmask) {
  const mode_t old_umask = ::umask(022);
  std::string path = dir_ + "/new.db";
  {
    auto db = SqliteDb::Open(path, "test");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);").ok());
    EXPECT_EQ(ModeOf(path), 0600u);
    EXPECT_EQ(ModeOf(path + "-wal"), 0600u);
    EXPECT_EQ(ModeOf(path + "-shm"), 0600u);
  }
  ::umask(old_umask);
}

TEST_F(FilesTest, SqliteTightensExistingLooseFiles) {
  std::string path = dir_ + "/old.db";
  {
    auto db = SqliteDb::Open(path, "test");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x);").ok());
  }
  // As an older version left them.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  File("old.db-shm", 0666, "");
  auto db = SqliteDb::Open(path, "test");
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(path + "-shm"), 0600u);
  // Read-only opens (offline verification of a copy) change nothing.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  db->reset();
  auto ro = SqliteDb::Open(path, "test", /*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(ModeOf(path), 0644u);
}

}  // namespace
}  // namespace ksef
