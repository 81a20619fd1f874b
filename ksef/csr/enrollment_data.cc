#include "ksef/csr/enrollment_data.h"

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ksef/csr/asn1_der.h"

namespace ksef::csr {
namespace {

struct Member {
  std::string key;
  std::optional<std::string> value;  // nullopt for JSON null
};

// Recursive-descent parser for a flat object of string/null values.
class FlatObjectParser {
 public:
  explicit FlatObjectParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Member>> Parse() {
    std::vector<Member> members;
    SkipWhitespace();
    KSEF_RETURN_IF_ERROR(Expect('{', "expected '{'"));
    SkipWhitespace();
    if (Peek() == '}') {
      ++pos_;
    } else {
      while (true) {
        SkipWhitespace();
        if (Peek() != '"') return Error("expected a string key");
        Member m;
        KSEF_ASSIGN_OR_RETURN(m.key, ParseString());
        SkipWhitespace();
        KSEF_RETURN_IF_ERROR(Expect(':', "expected ':'"));
        SkipWhitespace();
        if (Peek() == '"') {
          KSEF_ASSIGN_OR_RETURN(m.value, ParseString());
        } else if (text_.substr(pos_, 4) == "null") {
          pos_ += 4;
        } else {
          return Error(absl::StrCat("value of \"", m.key,
                                    "\" must be a string or null (numbers, booleans, objects "
                                    "and arrays are not accepted)"));
        }
        members.push_back(std::move(m));
        SkipWhitespace();
        if (Peek() == ',') {
          ++pos_;
          continue;
        }
        KSEF_RETURN_IF_ERROR(Expect('}', "expected ',' or '}'"));
        break;
      }
    }
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("unexpected content after the object");
    return members;
  }

 private:
  // -1 at the end of input.
  int Peek() const { return pos_ < text_.size() ? static_cast<uint8_t>(text_[pos_]) : -1; }

  void SkipWhitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("enrollment data: malformed JSON: ", what, " at offset ", pos_));
  }

  absl::Status Expect(char c, absl::string_view what) {
    if (Peek() != static_cast<uint8_t>(c)) return Error(what);
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> ParseHex4() {
    if (text_.size() - pos_ < 4) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return Error("bad hex digit in \\u escape");
      }
    }
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  // At the opening quote; leaves pos_ after the closing quote.
  absl::StatusOr<std::string> ParseString() {
    ++pos_;
    std::string out;
    while (true) {
      const int c = Peek();
      if (c < 0) return Error("unterminated string");
      ++pos_;
      if (c == '"') break;
      if (c < 0x20) return Error("unescaped control character in string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      const int e = Peek();
      ++pos_;
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          KSEF_ASSIGN_OR_RETURN(uint32_t cp, ParseHex4());
          if (cp >= 0xdc00 && cp <= 0xdfff) return Error("unpaired low surrogate");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (text_.substr(pos_, 2) != "\\u") return Error("unpaired high surrogate");
            pos_ += 2;
            KSEF_ASSIGN_OR_RETURN(uint32_t low, ParseHex4());
            if (low < 0xdc00 || low > 0xdfff) return Error("unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          if (cp == 0) return Error("U+0000 is not allowed");
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Error("invalid escape sequence");
      }
    }
    if (!IsValidUtf8(out)) return Error("string is not valid UTF-8");
    return out;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

absl::Status RequireNonEmpty(const std::optional<std::string>& value, bool seen,
                             absl::string_view key) {
  if (!seen)
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is missing"));
  if (!value.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is null"));
  }
  if (value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is empty"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EnrollmentData> ParseEnrollmentDataJson(absl::string_view json) {
  KSEF_ASSIGN_OR_RETURN(std::vector<Member> members, FlatObjectParser(json).Parse());
  EnrollmentData data;
  std::optional<std::string> common_name;
  std::optional<std::string> country_name;
  const std::pair<absl::string_view, std::optional<std::string>*> fields[] = {
      {"commonName", &common_name},
      {"surname", &data.surname},
      {"givenName", &data.given_name},
      {"organizationName", &data.organization_name},
      {"organizationIdentifier", &data.organization_identifier},
      {"countryName", &country_name},
      {"serialNumber", &data.serial_number},
      {"uniqueIdentifier", &data.unique_identifier},
  };
  std::set<std::string> seen;
  for (Member& m : members) {
    if (!seen.insert(m.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("enrollment data: duplicate key \"", m.key, "\""));
    }
    for (const auto& [name, target] : fields) {
      if (m.key == name) *target = std::move(m.value);
    }
  }
  KSEF_RETURN_IF_ERROR(RequireNonEmpty(common_name, seen.contains("commonName"), "commonName"));
  KSEF_RETURN_IF_ERROR(RequireNonEmpty(country_name, seen.contains("countryName"), "countryName"));
  data.common_name = std::move(*common_name);
  data.country_name = std::move(*country_name);
  return data;
}

}  // namespace ksef::csr
