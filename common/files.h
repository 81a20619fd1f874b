// File helpers with the durability and permission rules the service needs.
#ifndef KSEF_COMMON_FILES_H_
#define KSEF_COMMON_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secure_string.h"

namespace ksef {

// Whole file. NOT_FOUND if missing, PERMISSION_DENIED if unreadable.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Reads a secret (PIN file): refuses (FAILED_PRECONDITION) a file that group or
// others can read or write, strips one trailing newline. The message names the
// path and the fix (chmod 600), never the content.
absl::StatusOr<SecureString> ReadSecretFile(const std::string& path);

// fsync of a file or directory by path (SoftHSM2 does not fsync its store).
absl::Status FsyncPath(const std::string& path);

// fsyncs, below `dir` (recursively), every regular file modified at or after
// `since_unix_seconds`, then every directory (so new and removed entries are
// durable). Used after SoftHSM2 object changes: cost grows with the number
// of changed files, not with the number of keys.
absl::Status FsyncChangedSince(const std::string& dir, int64_t since_unix_seconds);

}  // namespace ksef

#endif  // KSEF_COMMON_FILES_H_
