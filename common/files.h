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

// The rule for files whose content decides what the server loads or allows
// (its config file, which names the PKCS#11 library; the policy file; the PIN
// file). Such a file must be a regular file owned by the service user
// (geteuid()) or root, and not writable by group or others; a `secret` file
// must in addition not be readable by group or others. Symlinks are followed:
// the file checked is the one that is read (the target). The directories on
// the path are not checked.
// `what` names the file in the message ("config file", "policy_file", ...).
// NOT_FOUND if the file is missing; FAILED_PRECONDITION otherwise, in one line
// naming the file, its mode and owner, and the chmod/chown that fixes it.
absl::Status CheckTrustedFile(const std::string& path, absl::string_view what, bool secret);

// Opens `path`, applies CheckTrustedFile's rule to the opened file (so the
// file checked is the file read) and returns its content. Errors as
// CheckTrustedFile; PERMISSION_DENIED if it cannot be opened for reading.
absl::StatusOr<std::string> ReadTrustedFile(const std::string& path, absl::string_view what,
                                            bool secret);

// Reads a secret (PIN file, key password): CheckTrustedFile's rule with
// secret = true (what = "secret file"), strips one trailing newline. The
// message names the path and the fix, never the content.
absl::StatusOr<SecureString> ReadSecretFile(const std::string& path);

// Creates `dir` (and missing parents) as mode 0700, or makes an existing
// directory owned by the service user private: group/other bits are removed
// (chmod 0700-style, logged as a WARNING naming the old mode). FAILED_PRECONDITION
// if it exists but is not a directory, or is owned by another user and
// accessible by group or others (the message gives the chown/chmod);
// INTERNAL if it cannot be created or changed.
absl::Status MakePrivateDirectory(const std::string& dir);

// If `path` exists and is owned by the service user with any group/other
// permission bit, chmods it to 0600 and logs a WARNING naming the old mode.
// OK if the file does not exist. FAILED_PRECONDITION if it is owned by another
// user and accessible by group or others; INTERNAL if chmod fails.
absl::Status TightenPrivateFile(const std::string& path);

// fsync of a file or directory by path (SoftHSM2 does not fsync its store).
absl::Status FsyncPath(const std::string& path);

// Makes everything written on the file system that holds `dir` durable
// (syncfs(2): data and metadata, new and removed directory entries). Used
// after SoftHSM2 object changes (SoftHSM2 does not fsync its store): one
// call whose cost grows with the data not yet written back, never with the
// number of files in `dir` (a walk that stat()s every object file cost 0.2 s
// per key creation at 10,000 keys).
absl::Status SyncFileSystemOf(const std::string& dir);

}  // namespace ksef

#endif  // KSEF_COMMON_FILES_H_
