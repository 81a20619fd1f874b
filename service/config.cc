#include "service/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

// Option handlers return a message without location; the caller prefixes
// "origin:line: name: " so every value error reads the same way.
using Setter = absl::Status (*)(absl::string_view value, absl::string_view base_dir,
                                ServerConfig& config);

absl::StatusOr<bool> ParseBool(absl::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat("expected true or false, got '", value, "'"));
}

absl::StatusOr<int> ParseIntInRange(absl::string_view value, int min, int max) {
  absl::string_view digits = value;
  absl::ConsumePrefix(&digits, "-");
  // SimpleAtoi alone would also take "+5" and " 5"; the format promises plain decimal.
  int64_t parsed = 0;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a whole number from ", min, " to ", max, ", got '", value, "'"));
  }
  return static_cast<int>(parsed);
}

// absl::ParseDuration has no day unit, yet retention periods are naturally
// written in days, hence the extra "<N>d" form.
absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view value, bool allow_zero) {
  absl::Duration duration;
  bool ok = false;
  absl::string_view days = value;
  if (absl::ConsumeSuffix(&days, "d") && !days.empty() &&
      std::all_of(days.begin(), days.end(), absl::ascii_isdigit)) {
    int64_t count = 0;
    ok = absl::SimpleAtoi(days, &count);
    duration = absl::Hours(24) * count;
  } else {
    ok = absl::ParseDuration(value, &duration);
  }
  if (!ok || duration == absl::InfiniteDuration() || duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a duration like 90s, 15m, 2h, 1h30m or 30d, got '", value, "'"));
  }
  if (!allow_zero && duration == absl::ZeroDuration()) {
    // A zero polling interval would turn the background loop into a busy loop.
    return absl::InvalidArgumentError(absl::StrCat("must be longer than zero, got '", value, "'"));
  }
  return duration;
}

std::string ResolvePath(absl::string_view value, absl::string_view base_dir) {
  if (value.empty() || absl::StartsWith(value, "/") || base_dir.empty()) return std::string(value);
  if (absl::EndsWith(base_dir, "/")) return absl::StrCat(base_dir, value);
  return absl::StrCat(base_dir, "/", value);
}

// A host:port value of `member`; `example_port` for the message.
template <std::string ServerConfig::*member, int example_port>
absl::Status SetHostPort(absl::string_view value, absl::string_view, ServerConfig& config) {
  absl::string_view host, port;
  int port_number = 0;
  if (!SplitHostPort(value, &host, &port) || port.empty() ||
      !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected host:port (for example 127.0.0.1:", example_port, ", [::1]:",
                     example_port, " or 0.0.0.0:", example_port, "), got '", value, "'"));
  }
  config.*member = std::string(value);
  return absl::OkStatus();
}

absl::Status SetAuditKeySha256(absl::string_view value, absl::string_view, ServerConfig& config) {
  std::string hex = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(value));
  hex.erase(std::remove(hex.begin(), hex.end(), ':'), hex.end());
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), absl::ascii_isxdigit)) {
    return absl::InvalidArgumentError(
        "expected the audit key's SHA-256 fingerprint, 64 hex digits (as \"ksef-hsm audit "
        "public-key\" prints it)");
  }
  config.audit_public_key_sha256 = hex;
  return absl::OkStatus();
}

template <std::string ServerConfig::*kField>
absl::Status SetString(absl::string_view value, absl::string_view, ServerConfig& config) {
  config.*kField = std::string(value);
  return absl::OkStatus();
}

template <std::string ServerConfig::*kField>
absl::Status SetPath(absl::string_view value, absl::string_view base_dir, ServerConfig& config) {
  config.*kField = ResolvePath(value, base_dir);
  return absl::OkStatus();
}

// A bare name such as "libsofthsm2.so" is left for the dynamic loader's search
// path; only something that looks like a path is tied to the config directory.
absl::Status SetModule(absl::string_view value, absl::string_view base_dir, ServerConfig& config) {
  config.pkcs11_module =
      absl::StrContains(value, '/') ? ResolvePath(value, base_dir) : std::string(value);
  return absl::OkStatus();
}

template <bool ServerConfig::*kField>
absl::Status SetBool(absl::string_view value, absl::string_view, ServerConfig& config) {
  KSEF_ASSIGN_OR_RETURN(config.*kField, ParseBool(value));
  return absl::OkStatus();
}

template <int ServerConfig::*kField, int kMin, int kMax>
absl::Status SetInt(absl::string_view value, absl::string_view, ServerConfig& config) {
  KSEF_ASSIGN_OR_RETURN(config.*kField, ParseIntInRange(value, kMin, kMax));
  return absl::OkStatus();
}

template <absl::Duration ServerConfig::*kField, bool kAllowZero>
absl::Status SetDuration(absl::string_view value, absl::string_view, ServerConfig& config) {
  KSEF_ASSIGN_OR_RETURN(config.*kField, ParseConfigDuration(value, kAllowZero));
  return absl::OkStatus();
}

absl::Status SetLogLevel(absl::string_view value, absl::string_view, ServerConfig& config) {
  LogLevel level;  // The logger owns the accepted names; stay in sync with it.
  if (!ParseLogLevel(value, &level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected debug, info, warning or error, got '", value, "'"));
  }
  config.log_level = std::string(value);
  return absl::OkStatus();
}

absl::Status SetLogFormat(absl::string_view value, absl::string_view, ServerConfig& config) {
  if (value != "text" && value != "json") {
    return absl::InvalidArgumentError(absl::StrCat("expected text or json, got '", value, "'"));
  }
  config.log_format = std::string(value);
  return absl::OkStatus();
}

// audit_store, registry_store: one rule for every store choice.
template <std::string ServerConfig::*kField>
absl::Status SetStoreKind(absl::string_view value, absl::string_view, ServerConfig& config) {
  if (value != "sqlite" && value != "postgres") {
    return absl::InvalidArgumentError(absl::StrCat("expected sqlite or postgres, got '", value, "'"));
  }
  config.*kField = std::string(value);
  return absl::OkStatus();
}

absl::Status SetQrEnvironment(absl::string_view value, absl::string_view, ServerConfig& config) {
  if (value != "test" && value != "demo" && value != "production") {
    return absl::InvalidArgumentError(
        absl::StrCat("expected test, demo or production, got '", value, "'"));
  }
  config.qr_environment = std::string(value);
  return absl::OkStatus();
}

absl::Status SetQrBaseUrl(absl::string_view value, absl::string_view, ServerConfig& config) {
  if (!absl::StartsWith(value, "https://") || absl::EndsWith(value, "/") ||
      value.size() <= 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected https://host[/path] without a trailing slash, got '", value, "'"));
  }
  config.qr_base_url = std::string(value);
  return absl::OkStatus();
}

struct Option {
  absl::string_view name;
  Setter set;
};

using C = ServerConfig;
constexpr std::array<Option, 52> kOptions = {{
    {"listen_address", &SetHostPort<&C::listen_address, 7443>},
    {"plaintext", &SetBool<&C::plaintext>},
    {"tls_cert_file", &SetPath<&C::tls_cert_file>},
    {"tls_key_file", &SetPath<&C::tls_key_file>},
    {"tls_client_ca_file", &SetPath<&C::tls_client_ca_file>},
    {"require_client_cert", &SetBool<&C::require_client_cert>},
    {"reflection", &SetBool<&C::reflection>},
    {"listen_reuse_port", &SetBool<&C::listen_reuse_port>},
    {"pkcs11_module", &SetModule},
    {"token_label", &SetString<&C::token_label>},
    {"token_serial", &SetString<&C::token_serial>},
    {"pin_file", &SetPath<&C::pin_file>},
    {"softhsm2_conf", &SetPath<&C::softhsm2_conf>},
    {"token_store_dir", &SetPath<&C::token_store_dir>},
    {"session_pool_size", &SetInt<&C::session_pool_size, 1, 256>},
    {"max_concurrent_signs", &SetInt<&C::max_concurrent_signs, 1, 1024>},
    {"token_check_interval", &SetDuration<&C::token_check_interval, false>},
    {"state_dir", &SetPath<&C::state_dir>},
    {"registry_store", &SetStoreKind<&C::registry_store>},
    {"registry_postgres", &SetString<&C::registry_postgres>},
    {"destruction_grace_period", &SetDuration<&C::destruction_grace_period, true>},
    {"destruction_check_interval", &SetDuration<&C::destruction_check_interval, false>},
    {"certificate_expiry_warning", &SetDuration<&C::certificate_expiry_warning, true>},
    {"certificate_check_interval", &SetDuration<&C::certificate_check_interval, false>},
    {"policy_file", &SetPath<&C::policy_file>},
    {"audit_store", &SetStoreKind<&C::audit_store>},
    {"audit_db", &SetPath<&C::audit_db>},
    {"audit_postgres", &SetString<&C::audit_postgres>},
    {"audit_checkpoint_interval", &SetDuration<&C::audit_checkpoint_interval, false>},
    {"audit_checkpoint_events", &SetInt<&C::audit_checkpoint_events, 1, 1000000>},
    {"audit_anchor_file", &SetPath<&C::audit_anchor_file>},
    {"audit_anchor_syslog", &SetBool<&C::audit_anchor_syslog>},
    {"audit_durable_reads", &SetBool<&C::audit_durable_reads>},
    {"audit_public_key_sha256", &SetAuditKeySha256},
    {"qr_environment", &SetQrEnvironment},
    {"qr_base_url", &SetQrBaseUrl},
    {"node_id", &SetString<&C::node_id>},
    {"log_level", &SetLogLevel},
    {"log_format", &SetLogFormat},
    {"shutdown_timeout", &SetDuration<&C::shutdown_timeout, true>},
    {"max_request_bytes", &SetInt<&C::max_request_bytes, 65536, 64 << 20>},
    {"grpc_max_threads", &SetInt<&C::grpc_max_threads, 8, 4096>},
    {"grpc_memory_mib", &SetInt<&C::grpc_memory_mib, 16, 65536>},
    {"max_streams_per_connection", &SetInt<&C::max_streams_per_connection, 1, 1000>},
    {"max_streams", &SetInt<&C::max_streams, 1, 1000>},
    {"stream_idle_timeout", &SetDuration<&C::stream_idle_timeout, false>},
    {"stream_write_timeout", &SetDuration<&C::stream_write_timeout, false>},
    {"handshake_timeout", &SetDuration<&C::handshake_timeout, false>},
    {"connection_idle_timeout", &SetDuration<&C::connection_idle_timeout, true>},
    {"refusal_audit_window", &SetDuration<&C::refusal_audit_window, false>},
    {"metrics_listen", &SetHostPort<&C::metrics_listen, 9464>},
    {"metrics_allow_remote", &SetBool<&C::metrics_allow_remote>},
}};

const Option* FindOption(absl::string_view name) {
  for (const Option& option : kOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

// Levenshtein distance, for "did you mean" hints on misspelt option names.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownOptionHint(absl::string_view name) {
  const Option* best = nullptr;
  size_t best_distance = 3;  // Further than this is a guess, not a typo.
  for (const Option& option : kOptions) {
    const size_t distance = EditDistance(absl::AsciiStrToLower(name), option.name);
    if (distance < best_distance) {
      best = &option;
      best_distance = distance;
    }
  }
  if (best != nullptr) return absl::StrCat(" (did you mean '", best->name, "'?)");
  return " (see docs/configuration.md for the list of options)";
}

// A '#' starts a comment at the start of the text or after whitespace, so
// values such as "a#b" survive.
size_t FindComment(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '#' && (i == 0 || absl::ascii_isspace(text[i - 1]))) return i;
  }
  return absl::string_view::npos;
}

// Extracts the value from the text after '='. On error returns a message.
absl::StatusOr<std::string> ParseValue(absl::string_view rest) {
  rest = absl::StripAsciiWhitespace(rest);
  if (!absl::StartsWith(rest, "\"")) {
    return std::string(absl::StripTrailingAsciiWhitespace(rest.substr(0, FindComment(rest))));
  }
  const size_t close = rest.find('"', 1);
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("unterminated quoted value; add the closing '\"'");
  }
  absl::string_view after = absl::StripLeadingAsciiWhitespace(rest.substr(close + 1));
  if (!after.empty() && after.front() != '#') {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected text '", after, "' after the closing quote"));
  }
  return std::string(rest.substr(1, close - 1));
}

// The PostgreSQL stores need their connection string, and replicas sharing
// a database need names they cannot share by accident.
void StoreProblems(const ServerConfig& config, std::vector<std::string>& problems) {
  const auto needs_conninfo = [&](absl::string_view store, const std::string& kind,
                                  absl::string_view conninfo_option, const std::string& conninfo,
                                  absl::string_view dbname) {
    if (kind != "postgres" || !conninfo.empty()) return;
    problems.push_back(absl::StrCat(
        store, " = postgres needs ", conninfo_option,
        ", the libpq connection string (e.g. host=db.internal dbname=", dbname,
        " user=ksef_hsm sslmode=verify-full)"));
  };
  needs_conninfo("audit_store", config.audit_store, "audit_postgres", config.audit_postgres,
                 "ksef_audit");
  needs_conninfo("registry_store", config.registry_store, "registry_postgres",
                 config.registry_postgres, "ksef");
  if (config.registry_store == "postgres" && config.audit_store != "postgres") {
    problems.push_back(
        "registry_store = postgres needs audit_store = postgres too: replicas sharing the key "
        "registry must share the audit log, where each holds the lease on its node_id (the "
        "owner of its usage reservations) and where every key use they count is recorded");
  }
  std::vector<absl::string_view> shared;
  if (config.audit_store == "postgres") shared.push_back("audit_store");
  if (config.registry_store == "postgres") shared.push_back("registry_store");
  if (!shared.empty() && config.node_id.empty()) {
    problems.push_back(absl::StrCat(
        "node_id is required because ", absl::StrJoin(shared, " = postgres and "),
        " = postgres: replicas sharing a database are told apart by node_id (each writes its "
        "own audit chain and holds a lease on its name), and the host-name default is not "
        "unique enough (containers, cloned machines); set node_id to a name unique among the "
        "replicas and stable across restarts, e.g. node_id = ksef-hsm-a"));
  }
}

std::vector<std::string> CrossFieldProblems(const ServerConfig& config) {
  std::vector<std::string> problems;
  if (config.plaintext && !IsLoopbackListenAddress(config.listen_address)) {
    problems.push_back(absl::StrCat(
        "plaintext = true is only allowed on a loopback listen_address (127.0.0.1, [::1], "
        "localhost), but listen_address is '",
        config.listen_address,
        "': without TLS anyone who can reach the port could sign with the HSM keys; "
        "listen on 127.0.0.1 or set plaintext = false and configure TLS"));
  }
  if (!config.plaintext) {
    std::vector<absl::string_view> missing;
    if (config.tls_cert_file.empty()) missing.push_back("tls_cert_file");
    if (config.tls_key_file.empty()) missing.push_back("tls_key_file");
    if (config.tls_client_ca_file.empty()) missing.push_back("tls_client_ca_file");
    if (!missing.empty()) {
      problems.push_back(absl::StrCat(
          "TLS is on (plaintext = false), so set ", absl::StrJoin(missing, ", "),
          " (plaintext = true is allowed only on a loopback listen_address, for local testing)"));
    }
  } else if (!config.require_client_cert) {
    problems.push_back(
        "require_client_cert = false only applies to TLS; with plaintext = true there are no "
        "client certificates, so remove the require_client_cert line");
  }
  if (!config.metrics_listen.empty() && !config.metrics_allow_remote &&
      !IsLoopbackListenAddress(config.metrics_listen)) {
    problems.push_back(absl::StrCat(
        "metrics_listen '", config.metrics_listen,
        "' is not a loopback address: the endpoint is plain HTTP without authentication, so "
        "listen on 127.0.0.1 (and put a TLS proxy in front), or set metrics_allow_remote = "
        "true if the network in between is trusted"));
  }
  if (config.pin_file.empty()) {
    problems.push_back(
        "pin_file is required: point it at a file (mode 0600) that holds the token user PIN");
  }
  if (config.token_label.empty() && config.token_serial.empty()) {
    problems.push_back("set token_label or token_serial so the service can find its token");
  }
  StoreProblems(config, problems);
  return problems;
}

}  // namespace

bool SplitHostPort(absl::string_view host_port, absl::string_view* host, absl::string_view* port) {
  if (absl::StartsWith(host_port, "[")) {
    const size_t close = host_port.find(']');
    if (close == absl::string_view::npos || host_port.substr(close + 1, 1) != ":") return false;
    *host = host_port.substr(1, close - 1);
    *port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == absl::string_view::npos) return false;
    *host = host_port.substr(0, colon);
    *port = host_port.substr(colon + 1);
    // An unbracketed IPv6 address makes the port ambiguous.
    if (absl::StrContains(*host, ':')) return false;
  }
  return !host->empty();
}

absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text, absl::string_view origin,
                                               absl::string_view base_dir) {
  ServerConfig config;
  std::array<int, kOptions.size()> set_on_line{};  // 0 = not set yet
  int line_number = 0;
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const absl::string_view line = absl::StripAsciiWhitespace(raw_line);  // also drops CR of CRLF
    if (line.empty() || line.front() == '#') continue;
    const auto error = [&](absl::string_view message) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ":", line_number, ": ", message));
    };
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos ||
        FindComment(line.substr(0, eq)) != absl::string_view::npos) {
      return error(absl::StrCat("expected 'option = value', got '", line, "'"));
    }
    const absl::string_view name = absl::StripTrailingAsciiWhitespace(line.substr(0, eq));
    if (name.empty()) return error("missing option name before '='");
    const Option* option = FindOption(name);
    if (option == nullptr) {
      return error(absl::StrCat("unknown option '", name, "'", UnknownOptionHint(name)));
    }
    int& previous_line = set_on_line[option - kOptions.data()];
    if (previous_line != 0) {
      return error(absl::StrCat("option '", name, "' is already set on line ", previous_line,
                                "; keep only one"));
    }
    previous_line = line_number;
    absl::StatusOr<std::string> value = ParseValue(line.substr(eq + 1));
    if (!value.ok()) return error(absl::StrCat(name, ": ", value.status().message()));
    absl::Status status = option->set(*value, base_dir, config);
    if (!status.ok()) return error(absl::StrCat(name, ": ", status.message()));
  }

  std::vector<std::string> problems = CrossFieldProblems(config);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", absl::StrJoin(problems, "; ")));
  }
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  // The config names the PKCS#11 library the server loads: only the service
  // user or root may be able to change it.
  absl::StatusOr<std::string> text = ReadTrustedFile(path, "config file", /*secret=*/false);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(
        absl::StrCat("config file ", path, " does not exist; check the path passed to ksef-hsmd"));
  }
  if (!text.ok()) return text.status();
  // Resolve against an absolute directory: the daemon may change its working
  // directory later, and relative results would then point elsewhere.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot make ", path, " absolute: ", ec.message()));
  }
  const std::string base_dir = absolute.lexically_normal().parent_path().string();
  return ParseServerConfig(*text, path, base_dir);
}

bool IsLoopbackListenAddress(absl::string_view host_port) {
  absl::string_view host = host_port, port;
  if (!SplitHostPort(host_port, &host, &port)) {
    // No usable port: accept a bare host such as "::1", "[::1]" or "localhost".
    host = host_port;
    if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
      host = host.substr(1, host.size() - 2);
    }
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string host_str(host);
  in_addr v4;
  if (inet_pton(AF_INET, host_str.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host_str.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    // ::ffff:127.x.y.z is IPv4 loopback seen through a dual-stack socket.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace ksef::service
