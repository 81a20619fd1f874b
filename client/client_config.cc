#include "client/client_config.h"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/file_util.h"

namespace ksef::client {
namespace {

constexpr absl::string_view kConfigKeys =
    "server, ca_cert, client_cert, client_key, server_name, plaintext, timeout";

std::string ResolvePath(absl::string_view base_dir, absl::string_view value) {
  std::filesystem::path path{std::string(value)};
  if (value.empty() || base_dir.empty() || path.is_absolute()) return std::string(value);
  return (std::filesystem::path(std::string(base_dir)) / path).string();
}

// Removes a trailing " # comment" and one pair of surrounding double quotes.
std::string CleanValue(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.size() >= 2 && value.front() == '"') {
    size_t close = value.find('"', 1);
    if (close != absl::string_view::npos) {
      absl::string_view rest = absl::StripAsciiWhitespace(value.substr(close + 1));
      if (rest.empty() || rest.front() == '#') return std::string(value.substr(1, close - 1));
    }
  }
  for (size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '#' && absl::ascii_isspace(static_cast<unsigned char>(value[i - 1]))) {
      value = absl::StripTrailingAsciiWhitespace(value.substr(0, i));
      break;
    }
  }
  return std::string(value);
}

// Stores `value` for `key` in `settings`; `what` names the source in errors.
absl::Status SetSetting(absl::string_view key, const std::string& value, absl::string_view base_dir,
                        absl::string_view what, ConnectionSettings* settings) {
  if (key == "server") {
    settings->server = value;
  } else if (key == "ca_cert") {
    settings->ca_cert = ResolvePath(base_dir, value);
  } else if (key == "client_cert") {
    settings->client_cert = ResolvePath(base_dir, value);
  } else if (key == "client_key") {
    settings->client_key = ResolvePath(base_dir, value);
  } else if (key == "server_name") {
    settings->server_name = value;
  } else if (key == "plaintext") {
    absl::StatusOr<bool> plaintext = ParseBoolSetting(value, what);
    if (!plaintext.ok()) return plaintext.status();
    settings->plaintext = *plaintext;
  } else if (key == "timeout") {
    absl::StatusOr<absl::Duration> timeout = ParseTimeoutSetting(value, what);
    if (!timeout.ok()) return timeout.status();
    settings->timeout = *timeout;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown key \"", key, "\" (known keys: ", kConfigKeys, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<bool> ParseBoolSetting(absl::string_view value, absl::string_view what) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what, " \"", value, "\": expected true or false"));
}

absl::StatusOr<absl::Duration> ParseTimeoutSetting(absl::string_view value,
                                                   absl::string_view what) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  absl::Duration duration;
  double seconds;
  bool parsed = absl::ParseDuration(trimmed, &duration);
  if (!parsed && absl::SimpleAtod(trimmed, &seconds) && !trimmed.empty() &&
      absl::ascii_isdigit(static_cast<unsigned char>(trimmed.back()))) {
    duration = absl::Seconds(seconds);
    parsed = true;
  }
  if (!parsed) {
    // absl has no day unit: "<whole days>d", then optionally an absl duration.
    size_t d = trimmed.find('d');
    int64_t days = 0;
    if (d != absl::string_view::npos && d > 0 &&
        absl::ascii_isdigit(static_cast<unsigned char>(trimmed.front())) &&
        absl::SimpleAtoi(trimmed.substr(0, d), &days) && days <= 100000) {
      absl::string_view rest = trimmed.substr(d + 1);
      absl::Duration rest_duration;
      if (rest.empty()) {
        duration = absl::Hours(24 * days);
        parsed = true;
      } else if (absl::ascii_isdigit(static_cast<unsigned char>(rest.front())) &&
                 absl::ParseDuration(rest, &rest_duration)) {
        duration = absl::Hours(24 * days) + rest_duration;
        parsed = true;
      }
    }
  }
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", what, " \"", value,
                     "\": expected a duration such as 10s, 2m, 1m30s, 720h or 30d"));
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", what, " \"", value, "\": must be positive"));
  }
  return duration;
}

absl::StatusOr<ConnectionSettings> ParseClientConfig(absl::string_view text,
                                                     absl::string_view origin,
                                                     absl::string_view base_dir) {
  ConnectionSettings settings;
  std::set<std::string> seen;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string where = absl::StrCat(origin, ":", line_number);
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"key = value\", got \"", line, "\""));
    }
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value = CleanValue(line.substr(eq + 1));
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": missing key before '='"));
    }
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": \"", key, "\" is set twice"));
    }
    absl::Status status = SetSetting(key, value, base_dir, key, &settings);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", status.message()));
    }
  }
  return settings;
}

absl::StatusOr<ConnectionSettings> ReadClientConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path, "client config file");
  if (!text.ok()) return text.status();
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseClientConfig(*text, path, base_dir);
}

absl::StatusOr<ConnectionSettings> SettingsFromEnvironment(const EnvLookup& env) {
  static constexpr std::pair<const char*, absl::string_view> kVariables[] = {
      {"KSEF_HSM_SERVER", "server"},           {"KSEF_HSM_CA_CERT", "ca_cert"},
      {"KSEF_HSM_CLIENT_CERT", "client_cert"}, {"KSEF_HSM_CLIENT_KEY", "client_key"},
      {"KSEF_HSM_SERVER_NAME", "server_name"}, {"KSEF_HSM_PLAINTEXT", "plaintext"},
      {"KSEF_HSM_TIMEOUT", "timeout"},
  };
  ConnectionSettings settings;
  for (const auto& [variable, key] : kVariables) {
    std::optional<std::string> value = env(variable);
    if (!value.has_value() || value->empty()) continue;
    absl::Status status = SetSetting(key, *value, "", variable, &settings);
    if (!status.ok()) return status;
  }
  return settings;
}

ConnectionSettings OverlaySettings(const ConnectionSettings& lower,
                                   const ConnectionSettings& higher) {
  ConnectionSettings merged = lower;
  if (higher.server) merged.server = higher.server;
  if (higher.ca_cert) merged.ca_cert = higher.ca_cert;
  if (higher.client_cert) merged.client_cert = higher.client_cert;
  if (higher.client_key) merged.client_key = higher.client_key;
  if (higher.server_name) merged.server_name = higher.server_name;
  if (higher.plaintext) merged.plaintext = higher.plaintext;
  if (higher.timeout) merged.timeout = higher.timeout;
  return merged;
}

ConnectionOptions ToConnectionOptions(const ConnectionSettings& settings) {
  ConnectionOptions options;
  if (settings.server) options.server_address = *settings.server;
  if (settings.ca_cert) options.ca_cert_file = *settings.ca_cert;
  if (settings.client_cert) options.client_cert_file = *settings.client_cert;
  if (settings.client_key) options.client_key_file = *settings.client_key;
  if (settings.server_name) options.server_name_override = *settings.server_name;
  if (settings.plaintext) options.plaintext = *settings.plaintext;
  if (settings.timeout) options.timeout = *settings.timeout;
  return options;
}

absl::StatusOr<ConnectionOptions> ResolveConnectionOptions(
    const ConnectionSettings& flags, const std::optional<std::string>& config_flag,
    const EnvLookup& env) {
  std::optional<std::string> config_path = config_flag;
  if (!config_path.has_value()) {
    std::optional<std::string> from_env = env(kConfigFileEnv);
    if (from_env.has_value() && !from_env->empty()) config_path = from_env;
  }
  ConnectionSettings file;
  if (config_path.has_value()) {
    absl::StatusOr<ConnectionSettings> parsed = ReadClientConfigFile(*config_path);
    if (!parsed.ok()) return parsed.status();
    file = *std::move(parsed);
  }
  absl::StatusOr<ConnectionSettings> environment = SettingsFromEnvironment(env);
  if (!environment.ok()) return environment.status();
  return ToConnectionOptions(OverlaySettings(OverlaySettings(file, *environment), flags));
}

}  // namespace ksef::client
