#include "audit/audit_event.h"

#include <openssl/evp.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/openssl_ptr.h"
#include "common/utf8.h"

namespace ksef::audit {
namespace {

// True when BoundedText would give `text` back unchanged: printable ASCII
// within the bound (most fields of most events; no copy is made for them).
bool PlainAndShort(absl::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

void BoundField(std::string& field, size_t max_bytes) {
  if (!PlainAndShort(field, max_bytes)) field = BoundedText(field, max_bytes);
}

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

std::string Finish(EvpMdCtxPtr ctx) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

EvpMdCtxPtr Start(absl::string_view domain) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  Field(ctx.get(), domain);
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

std::string BoundedText(absl::string_view text, size_t max_bytes) {
  if (PlainAndShort(text, max_bytes)) return std::string(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t next = i;
    const std::optional<uint32_t> decoded = DecodeUtf8(text, &next);
    const uint32_t cp = decoded.value_or(0);
    const size_t n = decoded ? next - i : 0;
    std::string piece;
    if (n == 0) {
      piece = absl::StrFormat("\\x%02x", static_cast<unsigned char>(text[i]));
    } else if (cp < 0x20 || cp == 0x7F) {
      piece = absl::StrFormat("\\x%02x", cp);
    } else if (cp >= 0x80 && cp <= 0x9F) {
      piece = absl::StrFormat("\\u%04x", cp);
    } else {
      piece = std::string(text.substr(i, n));
    }
    if (out.size() + piece.size() > max_bytes) {
      absl::StrAppend(&out, "...(", text.size(), " bytes)");
      return out;
    }
    out += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

void BoundEventFields(AuditEvent& e) {
  BoundField(e.caller.subject, kMaxEventNameBytes);
  BoundField(e.caller.issuer, kMaxEventNameBytes);
  BoundField(e.caller.serial, kMaxEventFieldBytes);
  BoundField(e.caller.name, kMaxEventFieldBytes);
  BoundField(e.operation, kMaxEventFieldBytes);
  BoundField(e.key_name, kMaxEventFieldBytes);
  BoundField(e.key_public_hash, kMaxEventFieldBytes);
  BoundField(e.subject, kMaxEventFieldBytes);
  BoundField(e.context, kMaxEventFieldBytes);
  BoundField(e.signed_sha256, kMaxEventFieldBytes);
  BoundField(e.message, kMaxEventMessageBytes);
  BoundField(e.peer, kMaxEventFieldBytes);
}

std::string EventHash(const AuditEvent& e) {
  EvpMdCtxPtr owner = Start("ksef-hsm audit event v1");
  EVP_MD_CTX* ctx = owner.get();
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
  if (!e.peer.empty() || e.count != 1) {
    Field(ctx, e.peer);
    Int(ctx, e.count);
  }
  return Finish(std::move(owner));
}

std::string CheckpointDigest(const Checkpoint& cp) {
  EvpMdCtxPtr owner =
      Start(cp.version == 1 ? "ksef-hsm audit checkpoint v1" : "ksef-hsm audit checkpoint v2");
  EVP_MD_CTX* ctx = owner.get();
  Field(ctx, cp.node);
  Int(ctx, cp.seq);
  Field(ctx, cp.head_hash);
  Int(ctx, absl::ToUnixMicros(cp.time));
  if (cp.version != 1) {
    Field(ctx, cp.prev_hash);
    Int(ctx, cp.count);
    Int(ctx, cp.closing ? 1 : 0);
    // Any version other than 1 and 2 never verifies: it is in the digest.
    Int(ctx, cp.version);
  }
  return Finish(std::move(owner));
}

std::string ZeroHash() { return std::string(32, '\0'); }

}  // namespace ksef::audit
