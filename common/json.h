// A small, strict JSON reader (RFC 8259) for the few JSON documents ksef-hsm
// takes in: KSeF's enrollment data and certificate-retrieve responses.
// Strings are unescaped to UTF-8 (\uXXXX incl. surrogate pairs) and must be
// valid UTF-8 without U+0000; numbers are kept as their literal text; object
// members keep their order and duplicates (callers decide). Nesting is
// limited to 64 levels. Pure; thread-safe.
#ifndef KSEF_COMMON_JSON_H_
#define KSEF_COMMON_JSON_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  // Declared here, defaulted in json.cc where JsonValue is complete:
  // std::pair<std::string, JsonValue> below needs a complete JsonValue, and
  // implicit members would instantiate it inside this class (clang rejects
  // that with libstdc++ 12 in C++20).
  JsonValue();
  JsonValue(const JsonValue&);
  JsonValue(JsonValue&&) noexcept;
  JsonValue& operator=(const JsonValue&);
  JsonValue& operator=(JsonValue&&) noexcept;
  ~JsonValue();

  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // kString: the value; kNumber: the literal
  std::vector<JsonValue> items;                             // kArray
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, in order

  bool is_string() const { return type == Type::kString; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  // First member named `key` of an object, or nullptr.
  const JsonValue* Find(absl::string_view key) const;
};

// Parses one JSON value; only whitespace may follow it. INVALID_ARGUMENT
// "<what>: malformed JSON: <reason> at offset <n>", followed by
// ' (in the value of "<key>")' when the error is inside the value of a
// member of the top-level object (keys up to 64 printable ASCII characters).
absl::StatusOr<JsonValue> ParseJson(absl::string_view text, absl::string_view what);

}  // namespace ksef

#endif  // KSEF_COMMON_JSON_H_
