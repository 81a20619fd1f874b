// The audit anchor: every checkpoint AuditLog writes is also appended, as
// one self-describing text line, to sinks the database writer cannot
// rewrite (design.md section 6, after CloudTrail's digest files): a local
// append-only file (made immutable with chattr +a, on WORM storage, or
// shipped off the box) and optionally syslog, so a SIEM keeps a copy.
// VerifyAuditChain compares the store with the anchor: an anchored
// checkpoint missing from or different in the store, or a node with events
// but no anchored checkpoint, is a failure.
//
// Line format (one line per checkpoint, space-separated key=value fields):
//   ksef-hsm-audit-anchor v=2 node=<percent-encoded> seq=<n> head=<hex>
//   time_us=<n> prev=<hex> count=<n> closing=<0|1> sig=<hex> key_sha256=<HEX>
// key_sha256 is the SHA-256 fingerprint of the audit public key (SPKI DER),
// as `ksef-hsm audit public-key` prints it.
#ifndef KSEF_AUDIT_ANCHOR_H_
#define KSEF_AUDIT_ANCHOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/audit_event.h"
#include "common/unique_fd.h"

namespace ksef::audit {

// One checkpoint as the anchor recorded it (public_key_der stays empty: the
// anchor holds only its fingerprint).
struct AnchorRecord {
  Checkpoint checkpoint;
  std::string key_sha256;  // uppercase hex
  int line = 0;            // 1-based line number in the file
};

// SHA-256 of an SPKI (DER), uppercase hex.
std::string KeyFingerprint(absl::string_view spki_der);

// The anchor line of a signed version-2 checkpoint, without the newline.
std::string FormatAnchorLine(const Checkpoint& checkpoint);
// INVALID_ARGUMENT (naming the field) for anything else than such a line.
absl::StatusOr<AnchorRecord> ParseAnchorLine(absl::string_view line);

// Every record of an anchor file, in file order. A last line without its
// newline (a write cut by a crash) is skipped. NOT_FOUND when the file does
// not exist; INVALID_ARGUMENT naming the line for a malformed one;
// UNAVAILABLE when it cannot be read.
absl::StatusOr<std::vector<AnchorRecord>> ReadAnchorFile(const std::string& path);

// Where AuditLog appends each checkpoint. Thread-compatible (AuditLog writes
// one checkpoint at a time).
class AnchorSink {
 public:
  virtual ~AnchorSink() = default;
  // Durable when it returns OK; UNAVAILABLE otherwise (the checkpoint then
  // counts as failed: fail closed).
  virtual absl::Status Append(const Checkpoint& checkpoint) = 0;
};

// A local file opened O_APPEND|O_CREAT (mode 0600); every line is written
// with one write(2) and fsync'ed before Append returns.
class FileAnchor final : public AnchorSink {
 public:
  // UNAVAILABLE (naming the path and the reason) when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<FileAnchor>> Open(const std::string& path);
  absl::Status Append(const Checkpoint& checkpoint) override;
  const std::string& path() const { return path_; }

 private:
  FileAnchor(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  const std::string path_;
  UniqueFd fd_;
};

// syslog(3), facility LOG_AUTHPRIV, priority LOG_NOTICE, ident
// "ksef-hsmd-audit". syslog(3) reports no errors: this is a copy for a SIEM,
// the file anchor is the one that fails closed.
class SyslogAnchor final : public AnchorSink {
 public:
  SyslogAnchor();
  absl::Status Append(const Checkpoint& checkpoint) override;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_ANCHOR_H_
