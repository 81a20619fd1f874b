#include "audit/audit_store.h"

#include "absl/strings/str_cat.h"

namespace ksef::audit {

absl::Status NodeLeaseTaken(const std::string& node, const std::string& holder,
                            absl::Time expires) {
  return absl::FailedPreconditionError(absl::StrCat(
      "audit node id \"", node, "\" is in use by another live server (", holder, ", lease until ",
      absl::FormatTime(expires),
      "): two servers must never write one audit chain; give this one its own node_id"));
}

}  // namespace ksef::audit
