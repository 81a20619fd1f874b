#include "common/json.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace ksef {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(absl::string_view text, absl::string_view what) : text_(text), what_(what) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    KSEF_ASSIGN_OR_RETURN(JsonValue value, ParseValue(0));
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("unexpected content after the value");
    return value;
  }

 private:
  int Peek() const { return pos_ < text_.size() ? static_cast<uint8_t>(text_[pos_]) : -1; }

  void SkipWhitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::Status Error(absl::string_view reason) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what_, ": malformed JSON: ", reason, " at offset ", pos_));
  }

  // Names the top-level member whose value is malformed, so the caller knows
  // which field to fix; a key that is long or not printable ASCII is left out.
  static absl::Status InMember(const absl::Status& status, absl::string_view key) {
    if (key.size() > 64) return status;
    for (char c : key) {
      if (c < 0x20 || c > 0x7e) return status;
    }
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (in the value of \"", key, "\")"));
  }

  absl::Status Expect(char c, absl::string_view reason) {
    if (Peek() != static_cast<uint8_t>(c)) return Error(reason);
    ++pos_;
    return absl::OkStatus();
  }

  bool ConsumeWord(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::StatusOr<JsonValue> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipWhitespace();
    JsonValue v;
    const int c = Peek();
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      v.type = JsonValue::Type::kString;
      KSEF_ASSIGN_OR_RETURN(v.text, ParseString());
      return v;
    }
    if (ConsumeWord("null")) return v;
    if (ConsumeWord("true")) {
      v.type = JsonValue::Type::kBool;
      v.boolean = true;
      return v;
    }
    if (ConsumeWord("false")) {
      v.type = JsonValue::Type::kBool;
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    return Error("expected a value");
  }

  absl::StatusOr<JsonValue> ParseObject(int depth) {
    JsonValue v;
    v.type = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipWhitespace();
    if (Peek() == '}') {
      ++pos_;
      return v;
    }
    while (true) {
      SkipWhitespace();
      if (Peek() != '"') return Error("expected a string key");
      KSEF_ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipWhitespace();
      KSEF_RETURN_IF_ERROR(Expect(':', "expected ':'"));
      absl::StatusOr<JsonValue> member = ParseValue(depth + 1);
      if (!member.ok()) return depth == 0 ? InMember(member.status(), key) : member.status();
      v.members.emplace_back(std::move(key), *std::move(member));
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      KSEF_RETURN_IF_ERROR(Expect('}', "expected ',' or '}'"));
      return v;
    }
  }

  absl::StatusOr<JsonValue> ParseArray(int depth) {
    JsonValue v;
    v.type = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipWhitespace();
    if (Peek() == ']') {
      ++pos_;
      return v;
    }
    while (true) {
      KSEF_ASSIGN_OR_RETURN(JsonValue item, ParseValue(depth + 1));
      v.items.push_back(std::move(item));
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      KSEF_RETURN_IF_ERROR(Expect(']', "expected ',' or ']'"));
      return v;
    }
  }

  // RFC 8259 number grammar; the literal is kept as text.
  absl::StatusOr<JsonValue> ParseNumber() {
    const size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        ++pos_;
        ++n;
      }
      return n;
    };
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Error("bad number");
    }
    if (Peek() == '.') {
      ++pos_;
      if (digits() == 0) return Error("bad number");
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (digits() == 0) return Error("bad number");
    }
    JsonValue v;
    v.type = JsonValue::Type::kNumber;
    v.text = std::string(text_.substr(start, pos_ - start));
    return v;
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
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
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
  absl::string_view what_;
  size_t pos_ = 0;
};

}  // namespace

JsonValue::JsonValue() = default;
JsonValue::JsonValue(const JsonValue&) = default;
JsonValue::JsonValue(JsonValue&&) noexcept = default;
JsonValue& JsonValue::operator=(const JsonValue&) = default;
JsonValue& JsonValue::operator=(JsonValue&&) noexcept = default;
JsonValue::~JsonValue() = default;

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text, absl::string_view what) {
  return Parser(text, what).ParseDocument();
}

}  // namespace ksef
