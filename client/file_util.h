// Small whole-file helpers for the client, with error messages that name the
// file's role and path, e.g. "cannot read client certificate /etc/x.pem: No
// such file or directory". Status codes follow errno (NOT_FOUND for ENOENT,
// PERMISSION_DENIED for EACCES, ...).
#ifndef KSEF_CLIENT_FILE_UTIL_H_
#define KSEF_CLIENT_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::client {

// The whole content of `path`. `what` names the file in errors ("CA certificate").
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what);

// Creates or truncates `path` (mode 0644 before umask) and writes `data` to it.
absl::Status WriteWholeFile(const std::string& path, absl::string_view data,
                            absl::string_view what);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_FILE_UTIL_H_
