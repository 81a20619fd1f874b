#include "audit/audit_event.h"

#include <openssl/evp.h>

#include "absl/strings/string_view.h"

namespace ksef::audit {
namespace {

// Length-prefixed (4-byte big-endian) field; unambiguous concatenation.
void Field(EVP_MD_CTX* ctx, absl::string_view value) {
  const uint32_t n = static_cast<uint32_t>(value.size());
  const unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                                static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  EVP_DigestUpdate(ctx, len, 4);
  EVP_DigestUpdate(ctx, value.data(), value.size());
}

void Int(EVP_MD_CTX* ctx, int64_t v) {
  unsigned char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<unsigned char>(v & 0xff);
    v = static_cast<int64_t>(static_cast<uint64_t>(v) >> 8);
  }
  EVP_DigestUpdate(ctx, b, 8);
}

std::string Finish(EVP_MD_CTX* ctx) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(md), len);
}

EVP_MD_CTX* Start(absl::string_view domain) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  Field(ctx, domain);
  return ctx;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess:
      return "SUCCESS";
    case Outcome::kFailure:
      return "FAILURE";
    case Outcome::kDenied:
      return "DENIED";
  }
  return "UNKNOWN";
}

bool OutcomeFromName(const std::string& name, Outcome* out) {
  for (Outcome o : {Outcome::kSuccess, Outcome::kFailure, Outcome::kDenied}) {
    if (name == OutcomeName(o)) {
      *out = o;
      return true;
    }
  }
  return false;
}

std::string EventHash(const AuditEvent& e) {
  EVP_MD_CTX* ctx = Start("ksef-hsm audit event v1");
  Int(ctx, e.seq);
  Field(ctx, e.node);
  Int(ctx, absl::ToUnixMicros(e.time));
  Field(ctx, e.prev_hash);
  Field(ctx, e.caller.subject);
  Field(ctx, e.caller.issuer);
  Field(ctx, e.caller.serial);
  Field(ctx, e.caller.name);
  Field(ctx, e.operation);
  Field(ctx, e.key_name);
  Field(ctx, e.key_public_hash);
  Field(ctx, e.subject);
  Field(ctx, e.context);
  Field(ctx, e.signed_sha256);
  Field(ctx, OutcomeName(e.outcome));
  Int(ctx, e.status_code);
  Field(ctx, e.message);
  return Finish(ctx);
}

std::string CheckpointDigest(const std::string& node, int64_t seq, const std::string& head_hash,
                             absl::Time time) {
  EVP_MD_CTX* ctx = Start("ksef-hsm audit checkpoint v1");
  Field(ctx, node);
  Int(ctx, seq);
  Field(ctx, head_hash);
  Int(ctx, absl::ToUnixMicros(time));
  return Finish(ctx);
}

}  // namespace ksef::audit
