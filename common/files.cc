#include "common/files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace ksef {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat("file not found: ", path));
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(err)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

constexpr mode_t kGroupOther = S_IRWXG | S_IRWXO;

std::string ModeText(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

std::optional<std::string> UserName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return std::string(found->pw_name);
}

// "alice (uid 1000)", or "uid 1000" without a passwd entry.
std::string UserText(uid_t uid) {
  std::optional<std::string> name = UserName(uid);
  return name ? absl::StrCat(*name, " (uid ", uid, ")") : absl::StrCat("uid ", uid);
}

// The argument chown needs: the user name if there is one, else the number.
std::string ChownTarget(uid_t uid) { return UserName(uid).value_or(absl::StrCat(uid)); }

// CheckTrustedFile's rule on a stat result of `path`.
absl::Status CheckTrustedStat(const struct stat& st, const std::string& path,
                              absl::string_view what, bool secret) {
  const std::string found =
      absl::StrCat("mode ", ModeText(st.st_mode), ", owner ", UserText(st.st_uid));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, " is not a regular file (", found, ")"));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    const std::string allowed = me == 0 ? UserText(0)
                                        : absl::StrCat("the service user ", UserText(me),
                                                       " or root");
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, " is owned by ", UserText(st.st_uid), " (mode ",
                     ModeText(st.st_mode), "), not by ", allowed, "; run: chown ",
                     ChownTarget(me), " ", path));
  }
  if (secret && (st.st_mode & kGroupOther) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " ", path, " is accessible by group or others (", found, "); run: chmod 600 ",
        path));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " ", path, " is writable by group or others (", found, "); run: chmod go-w ",
        path));
  }
  return absl::OkStatus();
}

absl::Status StatError(const std::string& path, absl::string_view what, int err) {
  std::string msg = absl::StrCat(what, " ", path, " cannot be opened: ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::PermissionDeniedError(msg);
}

}  // namespace

absl::Status CheckTrustedFile(const std::string& path, absl::string_view what, bool secret) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return StatError(path, what, errno);
  return CheckTrustedStat(st, path, what, secret);
}

absl::StatusOr<std::string> ReadTrustedFile(const std::string& path, absl::string_view what,
                                            bool secret) {
  // O_NONBLOCK: a FIFO planted in place of the file must not block start-up;
  // it is refused by the regular-file check instead.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return StatError(path, what, errno);
  std::string content;
  struct stat st;
  absl::Status status = ::fstat(fd, &st) == 0 ? CheckTrustedStat(st, path, what, secret)
                                              : StatError(path, what, errno);
  char buf[8192];
  while (status.ok()) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      status = absl::PermissionDeniedError(
          absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
      break;
    }
    content.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!status.ok()) return status;
  return content;
}

absl::StatusOr<SecureString> ReadSecretFile(const std::string& path) {
  auto content = ReadTrustedFile(path, "secret file", /*secret=*/true);
  if (!content.ok()) return content.status();
  std::string value = std::move(*content);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("secret file ", path, " is empty"));
  }
  return SecureString(std::move(value));
}

absl::Status MakePrivateDirectory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::InternalError(absl::StrCat("stat ", dir, ": ", std::strerror(errno)));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    // chmod, not umask(): the umask is process-wide and other threads may be
    // creating files.
    if (::chmod(dir.c_str(), 0700) != 0) {
      return absl::InternalError(absl::StrCat("chmod ", dir, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  if ((st.st_mode & kGroupOther) == 0) return absl::OkStatus();
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "directory ", dir, " is owned by ", UserText(st.st_uid), " and accessible by group or "
        "others (mode ", ModeText(st.st_mode), "); run: chown ", ChownTarget(::geteuid()), " ",
        dir, " && chmod 700 ", dir));
  }
  if (::chmod(dir.c_str(), st.st_mode & 0700) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", dir, ": ", std::strerror(errno)));
  }
  LogWarning("directory ", dir, " was accessible by group or others (mode ",
             ModeText(st.st_mode), "); changed to ", ModeText(st.st_mode & 0700));
  return absl::OkStatus();
}

absl::Status TightenPrivateFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("stat ", path, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & kGroupOther) == 0) return absl::OkStatus();
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is owned by ", UserText(st.st_uid), " and accessible by group or others (mode ",
        ModeText(st.st_mode), "); run: chown ", ChownTarget(::geteuid()), " ", path,
        " && chmod 600 ", path));
  }
  if (::chmod(path.c_str(), st.st_mode & 0700) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", path, ": ", std::strerror(errno)));
  }
  LogWarning(path, " was accessible by group or others (mode ", ModeText(st.st_mode),
             "); changed to ", ModeText(st.st_mode & 0700));
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = absl::StrCat("open ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::InternalError(msg);
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("fsync ", path, ": ", std::strerror(err)));
  return absl::OkStatus();
}

absl::Status SyncFileSystemOf(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("open ", dir, ": ", std::strerror(errno)));
  }
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("syncfs ", dir, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace ksef
