// Access policy: which callers (identified by their verified client
// certificate) may do what, for which KSeF subject or key. Deny by default:
// a call is allowed only if a grant says so.
//
// File format (docs/configuration.md, "Policy file"): one statement per
// line, '#' starts a comment.
//
//   identity billing subject="CN=billing,O=Acme" issuer="CN=Acme CA"
//   identity ops san=dns:ops.acme.internal
//   grant billing offline-signing subject=nip:5265877635
//   grant ops key-admin,enrollment *
//   grant ops auth-signing key=acme-auth-1
//
// An identity matches a certificate whose subject (RFC 4514, exact), issuer
// (if given) and every listed SAN match. Roles: key-admin, enrollment,
// auth-signing, offline-signing, audit-reading. Scopes: '*' (everything),
// subject=nip|pesel|fingerprint:VALUE, key=KEY_ID.
// Policy is immutable after parsing (thread-safe); PolicyHolder swaps it.
#ifndef KSEF_SERVICE_POLICY_H_
#define KSEF_SERVICE_POLICY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "service/caller_identity.h"
#include "service/key_model.h"

namespace ksef::service {

enum class Role { kKeyAdmin, kEnrollment, kAuthSigning, kOfflineSigning, kAuditReading };
const char* RoleName(Role role);  // "key-admin", ...

// What a call touches. A call about one key names its subject and key id; a
// call about a subject (CreateKey, ListKeys for a subject) only the subject;
// server-wide calls (CheckConsistency, audit) neither, and only '*' grants
// cover them.
struct Resource {
  std::optional<SubjectType> subject_type;
  std::string subject_value;
  std::string key_id;

  static Resource Everything() { return Resource{}; }
  static Resource Subject(SubjectType type, std::string value) {
    return Resource{type, std::move(value), ""};
  }
  static Resource Key(SubjectType type, std::string value, std::string key_id) {
    return Resource{type, std::move(value), std::move(key_id)};
  }
};

class Policy {
 public:
  // INVALID_ARGUMENT "<origin>:<line>: ..." for the first bad line.
  static absl::StatusOr<Policy> Parse(absl::string_view text, absl::string_view origin);
  // Reads and parses `path`. NOT_FOUND if missing; FAILED_PRECONDITION if it
  // fails CheckTrustedFile (group/world-writable, foreign owner); else as Parse.
  static absl::StatusOr<Policy> Load(const std::string& path);
  // A policy that allows nothing (no policy_file configured).
  static Policy DenyAll() { return Policy(); }

  // Names of the identities the certificate matches, in file order.
  std::vector<std::string> Match(const CallerCertificate& caller) const;

  // True if one of `identities` holds `role` for `resource`.
  bool Allows(const std::vector<std::string>& identities, Role role,
              const Resource& resource) const;

  // True if one of `identities` holds `role` in some scope: the first check
  // of every call (AuditedCall::Admit), made before the request names
  // anything, so a caller with no grant for the operation learns nothing.
  bool HoldsAnywhere(const std::vector<std::string>& identities, Role role) const;

  size_t identity_count() const { return identities_.size(); }
  size_t grant_count() const { return grants_.size(); }

 private:
  struct Identity {
    std::string name;
    std::string subject;
    std::optional<std::string> issuer;
    std::vector<std::string> sans;
  };
  struct Grant {
    std::string identity;
    std::vector<Role> roles;
    enum class Kind { kAll, kSubject, kKey } kind = Kind::kAll;
    SubjectType subject_type = SubjectType::kNip;
    std::string value;
  };
  static absl::Status ParseLine(const std::vector<std::string>& words, Policy& policy);
  // The two statements ParseLine reads.
  static absl::Status ParseIdentity(const std::vector<std::string>& words, Policy& policy);
  static absl::Status ParseGrant(const std::vector<std::string>& words, Policy& policy);
  // A grant's scope ("*", "subject=TYPE:VALUE", "key=KEY_ID") into `grant`.
  static absl::Status ParseScope(const std::string& scope, Grant& grant);

  std::vector<Identity> identities_;
  std::vector<Grant> grants_;
};

// The policy in force; Reload() replaces it only if the new file is valid.
// Thread-safe.
class PolicyHolder {
 public:
  // Empty path: DenyAll. Errors as Policy::Load.
  static absl::StatusOr<std::unique_ptr<PolicyHolder>> Open(std::string path);
  std::shared_ptr<const Policy> current() const;
  // Re-reads the file. On any error of Policy::Load (including a file that
  // became group/world-writable) the old policy stays, the reason is logged
  // and the error returns.
  absl::Status Reload();
  const std::string& path() const { return path_; }

 private:
  explicit PolicyHolder(std::string path) : path_(std::move(path)) {}
  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_POLICY_H_
