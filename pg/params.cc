#include "pg/params.h"

#include "absl/strings/str_cat.h"

namespace ksef::pg {
namespace {

// Type OIDs (catalog/pg_type_d.h, which libpq-dev does not ship).
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

}  // namespace

std::string Params::Text(absl::string_view v) { return Add(std::string(v), kTextOid, 0, false); }
std::string Params::Int(int64_t v) { return Add(absl::StrCat(v), kInt8Oid, 0, false); }
std::string Params::Bytea(absl::string_view v) { return Add(std::string(v), kByteaOid, 1, false); }
// Untyped (0): the server infers the column's type.
std::string Params::Null() { return Add("", 0, 0, true); }

std::vector<const char*> Params::values() const {
  std::vector<const char*> out;
  out.reserve(storage_.size());
  for (size_t i = 0; i < storage_.size(); ++i) {
    out.push_back(null_[i] ? nullptr : storage_[i].c_str());
  }
  return out;
}

std::string Params::Add(std::string value, Oid type, int format, bool null) {
  lengths_.push_back(static_cast<int>(value.size()));
  storage_.push_back(std::move(value));
  null_.push_back(null);
  types_.push_back(type);
  formats_.push_back(format);
  return absl::StrCat("$", types_.size());
}

}  // namespace ksef::pg
