#include "tests/support/softhsm_token.h"

#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace ksef::testing {

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  char* made = ::mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

std::string TestToken::ModulePath() { return "/usr/lib/softhsm/libsofthsm2.so"; }

absl::StatusOr<std::unique_ptr<TestToken>> TestToken::Create(const std::string& label) {
  if (::access(ModulePath().c_str(), R_OK) != 0 || RunCommand("command -v softhsm2-util") != 0) {
    return absl::FailedPreconditionError(
        "SoftHSM2 is not installed; run ./scripts/install-deps.sh (apt-get install softhsm2)");
  }
  std::unique_ptr<TestToken> t(new TestToken());
  t->dir_ = MakeTempDir("ksef-softhsm");
  if (t->dir_.empty()) return absl::InternalError("mkdtemp failed");
  t->token_dir_ = t->dir_ + "/tokens";
  t->conf_path_ = t->dir_ + "/softhsm2.conf";
  t->pin_file_ = t->dir_ + "/pin";
  t->label_ = label;
  std::filesystem::create_directories(t->token_dir_);
  {
    std::ofstream conf(t->conf_path_);
    conf << "directories.tokendir = " << t->token_dir_ << "\n"
         << "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
  }
  unsigned char rnd[24];
  RAND_bytes(rnd, sizeof(rnd));
  std::string hex = HexUpper(std::string(reinterpret_cast<char*>(rnd), sizeof(rnd)));
  t->pin_ = hex.substr(0, 16);
  t->so_pin_ = hex.substr(16, 16);
  {
    mode_t old = ::umask(077);
    std::ofstream pin(t->pin_file_);
    pin << t->pin_ << "\n";
    ::umask(old);
  }
  ::chmod(t->pin_file_.c_str(), 0600);
  ::setenv("SOFTHSM2_CONF", t->conf_path_.c_str(), 1);
  std::string out;
  int rc = RunCommand(absl::StrCat("softhsm2-util --init-token --free --label '", label,
                                   "' --pin ", t->pin_, " --so-pin ", t->so_pin_),
                      &out);
  if (rc != 0) return absl::InternalError(absl::StrCat("softhsm2-util --init-token: ", out));
  return t;
}

TestToken::~TestToken() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace ksef::testing
