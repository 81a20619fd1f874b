// Params: the parameters of one libpq statement, built beside its SQL text:
// each adder returns its placeholder ("$3"). Text and int8 go in text format,
// bytea in binary format, NULL as a null value. Results are read in binary
// format (result.h). Thread-compatible; a Params outlives the PQexecParams
// call it is passed to.
#ifndef KSEF_PG_PARAMS_H_
#define KSEF_PG_PARAMS_H_

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace ksef::pg {

class Params {
 public:
  std::string Text(absl::string_view v);
  std::string Int(int64_t v);
  std::string Bytea(absl::string_view v);
  std::string Null();

  int size() const { return static_cast<int>(types_.size()); }
  const Oid* types() const { return types_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  // Pointers into this object: valid while it lives and gets no new value.
  std::vector<const char*> values() const;

 private:
  std::string Add(std::string value, Oid type, int format, bool null);

  std::deque<std::string> storage_;  // a deque: earlier c_str()s stay valid
  std::vector<bool> null_;
  std::vector<Oid> types_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

}  // namespace ksef::pg

#endif  // KSEF_PG_PARAMS_H_
