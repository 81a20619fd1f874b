#include "service/policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

constexpr Role kAllRoles[] = {Role::kKeyAdmin, Role::kEnrollment, Role::kAuthSigning,
                              Role::kOfflineSigning, Role::kAuditReading};

// Splits a line into words; double quotes group (with \" and \\ escapes)
// and are removed: subject="CN=a b" -> one word subject=CN=a b.
absl::StatusOr<std::vector<std::string>> Words(absl::string_view line) {
  std::vector<std::string> words;
  std::string current;
  bool in_word = false, quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        current.push_back(line[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        current.push_back(c);
      }
      continue;
    }
    if (c == '#') break;
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(current));
      current.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"') {
      quoted = true;
    } else {
      current.push_back(c);
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quoted value");
  if (in_word) words.push_back(std::move(current));
  return words;
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Role> ParseRole(absl::string_view word) {
  for (Role r : kAllRoles) {
    if (word == RoleName(r)) return r;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role '", word,
      "' (roles: key-admin, enrollment, auth-signing, offline-signing, audit-reading)"));
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kKeyAdmin:
      return "key-admin";
    case Role::kEnrollment:
      return "enrollment";
    case Role::kAuthSigning:
      return "auth-signing";
    case Role::kOfflineSigning:
      return "offline-signing";
    case Role::kAuditReading:
      return "audit-reading";
  }
  return "unknown";
}

absl::Status Policy::ParseIdentity(const std::vector<std::string>& words, Policy& policy) {
  if (words.size() < 3) {
    return absl::InvalidArgumentError(
        "identity needs a name and subject=\"...\" (and optionally issuer=\"...\", san=...)");
  }
  Identity id;
  id.name = words[1];
  if (!ValidName(id.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity name '", id.name, "' may hold only letters, digits, '-', '_' and '.'"));
  }
  for (const Identity& other : policy.identities_) {
    if (other.name == id.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("identity '", id.name, "' is defined twice"));
    }
  }
  for (size_t i = 2; i < words.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
    if (kv.first == "subject" && !kv.second.empty()) {
      id.subject = kv.second;
    } else if (kv.first == "issuer" && !kv.second.empty()) {
      id.issuer = kv.second;
    } else if (kv.first == "san" && absl::StrContains(kv.second, ':')) {
      id.sans.push_back(kv.second);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot read '", words[i],
          "': use subject=\"RFC 4514 name\", issuer=\"RFC 4514 name\" or san=dns:NAME "
          "(also uri:, email:, ip:)"));
    }
  }
  if (id.subject.empty() && id.sans.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity '", id.name, "' needs subject=\"...\" or san=..."));
  }
  policy.identities_.push_back(std::move(id));
  return absl::OkStatus();
}

absl::Status Policy::ParseGrant(const std::vector<std::string>& words, Policy& policy) {
  if (words.size() != 4) {
    return absl::InvalidArgumentError(
        "grant needs: grant IDENTITY ROLE[,ROLE...] SCOPE (scope: *, subject=nip:VALUE, "
        "key=KEY_ID)");
  }
  Grant g;
  g.identity = words[1];
  bool known = false;
  for (const Identity& id : policy.identities_) known |= id.name == g.identity;
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grant names identity '", g.identity, "', which is not defined above this line"));
  }
  for (absl::string_view r : absl::StrSplit(words[2], ',')) {
    KSEF_ASSIGN_OR_RETURN(Role role, ParseRole(r));
    g.roles.push_back(role);
  }
  KSEF_RETURN_IF_ERROR(ParseScope(words[3], g));
  policy.grants_.push_back(std::move(g));
  return absl::OkStatus();
}

absl::Status Policy::ParseScope(const std::string& scope, Grant& g) {
  if (scope == "*") {
    g.kind = Grant::Kind::kAll;
  } else if (absl::StartsWith(scope, "key=") && scope.size() > 4) {
    g.kind = Grant::Kind::kKey;
    g.value = scope.substr(4);
  } else if (absl::StartsWith(scope, "subject=")) {
    std::pair<std::string, std::string> tv =
        absl::StrSplit(scope.substr(8), absl::MaxSplits(':', 1));
    g.kind = Grant::Kind::kSubject;
    g.value = tv.second;
    if (tv.first == "nip") {
      g.subject_type = SubjectType::kNip;
    } else if (tv.first == "pesel") {
      g.subject_type = SubjectType::kPesel;
    } else if (tv.first == "fingerprint") {
      g.subject_type = SubjectType::kCertificateFingerprint;
      g.value = absl::AsciiStrToUpper(g.value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "scope '", scope, "': the subject type must be nip, pesel or fingerprint"));
    }
    if (g.value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("scope '", scope, "' has no value"));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown scope '", scope, "' (use *, subject=nip:VALUE, subject=pesel:VALUE, "
        "subject=fingerprint:VALUE or key=KEY_ID)"));
  }
  return absl::OkStatus();
}

absl::Status Policy::ParseLine(const std::vector<std::string>& words, Policy& policy) {
  const std::string& verb = words[0];
  if (verb == "identity") return ParseIdentity(words, policy);
  if (verb == "grant") return ParseGrant(words, policy);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown statement '", verb, "' (expected identity or grant)"));
}

absl::StatusOr<Policy> Policy::Parse(absl::string_view text, absl::string_view origin) {
  Policy policy;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto words = Words(absl::StripAsciiWhitespace(line));
    absl::Status s = words.ok() ? absl::OkStatus() : words.status();
    if (s.ok() && !words->empty()) s = ParseLine(*words, policy);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_number, ": ", s.message()));
    }
  }
  return policy;
}

absl::StatusOr<Policy> Policy::Load(const std::string& path) {
  // Whoever can write the policy decides who may sign: same rule as the config.
  auto text = ReadTrustedFile(path, "policy file", /*secret=*/false);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

std::vector<std::string> Policy::Match(const CallerCertificate& caller) const {
  std::vector<std::string> out;
  for (const Identity& id : identities_) {
    if (!id.subject.empty() && id.subject != caller.subject) continue;
    if (id.issuer && *id.issuer != caller.issuer) continue;
    bool sans_ok = true;
    for (const std::string& san : id.sans) {
      bool found = false;
      for (const std::string& have : caller.sans) found |= absl::EqualsIgnoreCase(san, have);
      sans_ok &= found;
    }
    if (sans_ok) out.push_back(id.name);
  }
  return out;
}

bool Policy::Allows(const std::vector<std::string>& identities, Role role,
                    const Resource& resource) const {
  for (const Grant& g : grants_) {
    bool mine = false;
    for (const std::string& name : identities) mine |= name == g.identity;
    if (!mine) continue;
    bool has_role = false;
    for (Role r : g.roles) has_role |= r == role;
    if (!has_role) continue;
    switch (g.kind) {
      case Grant::Kind::kAll:
        return true;
      case Grant::Kind::kSubject:
        if (resource.subject_type == g.subject_type && resource.subject_value == g.value) {
          return true;
        }
        break;
      case Grant::Kind::kKey:
        if (!resource.key_id.empty() && resource.key_id == g.value) return true;
        break;
    }
  }
  return false;
}

bool Policy::HoldsAnywhere(const std::vector<std::string>& identities, Role role) const {
  for (const Grant& g : grants_) {
    bool mine = false;
    for (const std::string& name : identities) mine |= name == g.identity;
    if (!mine) continue;
    for (Role r : g.roles) {
      if (r == role) return true;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<PolicyHolder>> PolicyHolder::Open(std::string path) {
  std::unique_ptr<PolicyHolder> holder(new PolicyHolder(std::move(path)));
  if (holder->path_.empty()) {
    LogWarning("no policy_file configured: every call will be denied (deny by default)");
    absl::MutexLock lock(&holder->mu_);
    holder->policy_ = std::make_shared<const Policy>(Policy::DenyAll());
    return holder;
  }
  KSEF_ASSIGN_OR_RETURN(Policy policy, Policy::Load(holder->path_));
  LogInfo("policy ", holder->path_, ": ", policy.identity_count(), " identities, ",
          policy.grant_count(), " grants");
  absl::MutexLock lock(&holder->mu_);
  holder->policy_ = std::make_shared<const Policy>(std::move(policy));
  return holder;
}

std::shared_ptr<const Policy> PolicyHolder::current() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

absl::Status PolicyHolder::Reload() {
  if (path_.empty()) return absl::FailedPreconditionError("no policy_file is configured");
  auto policy = Policy::Load(path_);
  if (!policy.ok()) {
    LogError("policy reload failed, the previous policy stays in force: ",
             policy.status().message());
    return policy.status();
  }
  LogInfo("policy reloaded from ", path_, ": ", policy->identity_count(), " identities, ",
          policy->grant_count(), " grants");
  absl::MutexLock lock(&mu_);
  policy_ = std::make_shared<const Policy>(std::move(*policy));
  return absl::OkStatus();
}

}  // namespace ksef::service
