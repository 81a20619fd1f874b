#include "audit/anchor.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "crypto/sha256.h"

namespace ksef::audit {
namespace {

constexpr absl::string_view kMagic = "ksef-hsm-audit-anchor";

bool PlainNodeByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == ':';
}

std::string EncodeNode(absl::string_view node) {
  std::string out;
  for (char c : node) {
    if (PlainNodeByte(c)) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", HexUpper(absl::string_view(&c, 1)));
    }
  }
  return out;
}

std::optional<std::string> DecodeNode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    std::optional<std::string> byte = HexDecode(text.substr(i + 1, 2));
    if (!byte || byte->size() != 1) return std::nullopt;
    out += *byte;
    i += 2;
  }
  return out;
}

absl::Status Bad(absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat("not an audit anchor line (field \"", field, "\" missing or malformed)"));
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

std::string KeyFingerprint(absl::string_view spki_der) {
  return crypto::Sha256Hex(spki_der);
}

std::string FormatAnchorLine(const Checkpoint& cp) {
  return absl::StrCat(kMagic, " v=", cp.version, " node=", EncodeNode(cp.node), " seq=", cp.seq,
                      " head=", HexUpper(cp.head_hash), " time_us=", absl::ToUnixMicros(cp.time),
                      " prev=", HexUpper(cp.prev_hash), " count=", cp.count,
                      " closing=", cp.closing ? 1 : 0, " sig=", HexUpper(cp.signature),
                      " key_sha256=", KeyFingerprint(cp.public_key_der));
}

absl::StatusOr<AnchorRecord> ParseAnchorLine(absl::string_view line) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (parts.empty() || parts[0] != kMagic) return Bad("ksef-hsm-audit-anchor");
  absl::flat_hash_map<absl::string_view, absl::string_view> fields;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(parts[i], '=');
    if (!fields.emplace(kv.first, kv.second).second) return Bad(kv.first);
  }
  auto get = [&](absl::string_view key) -> absl::string_view {
    auto it = fields.find(key);
    return it == fields.end() ? absl::string_view() : it->second;
  };
  AnchorRecord r;
  Checkpoint& cp = r.checkpoint;
  int64_t time_us = 0, closing = 0;
  if (!absl::SimpleAtoi(get("v"), &cp.version) || cp.version != 2) return Bad("v");
  std::optional<std::string> node = DecodeNode(get("node"));
  if (!node || node->empty()) return Bad("node");
  cp.node = *node;
  if (!absl::SimpleAtoi(get("seq"), &cp.seq) || cp.seq < 0) return Bad("seq");
  if (!absl::SimpleAtoi(get("time_us"), &time_us)) return Bad("time_us");
  cp.time = absl::FromUnixMicros(time_us);
  if (!absl::SimpleAtoi(get("count"), &cp.count)) return Bad("count");
  if (!absl::SimpleAtoi(get("closing"), &closing) || (closing != 0 && closing != 1)) {
    return Bad("closing");
  }
  cp.closing = closing == 1;
  const std::pair<const char*, std::string*> hex[] = {
      {"head", &cp.head_hash}, {"prev", &cp.prev_hash}, {"sig", &cp.signature}};
  for (const auto& [key, out] : hex) {
    std::optional<std::string> bytes = HexDecode(get(key));
    if (!bytes || bytes->empty()) return Bad(key);
    *out = *std::move(bytes);
  }
  r.key_sha256 = std::string(get("key_sha256"));
  if (r.key_sha256.size() != 64 || !HexDecode(r.key_sha256)) return Bad("key_sha256");
  return r;
}

absl::StatusOr<std::vector<AnchorRecord>> ReadAnchorFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("audit anchor file ", path, " does not exist"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot read audit anchor file ", path, ": ", ErrnoText()));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  std::vector<AnchorRecord> out;
  size_t begin = 0;
  int number = 0;
  while (begin < content.size()) {
    const size_t end = content.find('\n', begin);
    if (end == std::string::npos) break;  // a write cut by a crash
    ++number;
    absl::string_view line(content.data() + begin, end - begin);
    begin = end + 1;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<AnchorRecord> record = ParseAnchorLine(line);
    if (!record.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("audit anchor file ", path, " line ", number,
                                                     ": ", record.status().message()));
    }
    record->line = number;
    out.push_back(*std::move(record));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<FileAnchor>> FileAnchor::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the audit anchor file ", path, " for appending: ", ErrnoText()));
  }
  return std::unique_ptr<FileAnchor>(new FileAnchor(path, std::move(fd)));
}

absl::Status FileAnchor::Append(const Checkpoint& cp) {
  const std::string line = FormatAnchorLine(cp) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot append to the audit anchor file ", path_, ": ", ErrnoText()));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd_.get()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot fsync the audit anchor file ", path_, ": ", ErrnoText()));
  }
  return absl::OkStatus();
}

SyslogAnchor::SyslogAnchor() { ::openlog("ksef-hsmd-audit", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV); }

absl::Status SyslogAnchor::Append(const Checkpoint& cp) {
  ::syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", FormatAnchorLine(cp).c_str());
  return absl::OkStatus();
}

}  // namespace ksef::audit
