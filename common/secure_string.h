// SecureString: a move-only byte string for secrets (PINs, passwords) that is
// wiped with OPENSSL_cleanse when destroyed or moved from. It has no
// operator<< and no implicit conversion, so it cannot end up in a log line
// by accident. Not thread-safe (like std::string).
#ifndef KSEF_COMMON_SECURE_STRING_H_
#define KSEF_COMMON_SECURE_STRING_H_

#include <openssl/crypto.h>

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace ksef {

class SecureString {
 public:
  SecureString() = default;
  explicit SecureString(std::string value) : value_(std::move(value)) {}
  ~SecureString() { Wipe(); }

  SecureString(SecureString&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  SecureString& operator=(SecureString&& other) noexcept {
    if (this != &other) {
      Wipe();
      value_ = std::move(other.value_);
      other.Wipe();
    }
    return *this;
  }
  SecureString(const SecureString&) = delete;
  SecureString& operator=(const SecureString&) = delete;

  // The secret itself; pass it straight to the consumer (C_Login), never to a log.
  absl::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

 private:
  void Wipe() {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

}  // namespace ksef

#endif  // KSEF_COMMON_SECURE_STRING_H_
