#include "client/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace ksef::client {
namespace {

absl::Status FileError(int error, absl::string_view verb, absl::string_view what,
                       const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat("cannot ", verb, " ", what, " ", path));
}

}  // namespace

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no file name given for the ", what));
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FileError(errno, "read", what, path);

  std::string content;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return FileError(error, "read", what, path);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

absl::Status WriteWholeFile(const std::string& path, absl::string_view data,
                            absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no file name given for the ", what));
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FileError(errno, "write", what, path);

  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return FileError(error, "write", what, path);
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return FileError(errno, "write", what, path);
  return absl::OkStatus();
}

}  // namespace ksef::client
