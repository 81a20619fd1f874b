// Where the CLI's connection settings come from, and in which order.
//
// Each setting can come from a command-line flag, an environment variable, a
// client config file, or the built-in default; the first of those that sets
// it wins (flag > environment > config file > default).
//
//   setting       flag            environment            config file key
//   server        --server        KSEF_HSM_SERVER        server
//   ca_cert       --ca-cert       KSEF_HSM_CA_CERT       ca_cert
//   client_cert   --client-cert   KSEF_HSM_CLIENT_CERT   client_cert
//   client_key    --client-key    KSEF_HSM_CLIENT_KEY    client_key
//   server_name   --server-name   KSEF_HSM_SERVER_NAME   server_name
//   plaintext     --plaintext     KSEF_HSM_PLAINTEXT     plaintext
//   timeout       --timeout       KSEF_HSM_TIMEOUT       timeout
//
// The config file itself is named by --config or KSEF_HSM_CLIENT_CONFIG. Its
// format is one `key = value` per line; blank lines and lines starting with
// '#' are ignored, as is a " #..." comment at the end of a line; a value may
// be put in double quotes. Relative file paths in it are resolved against the
// directory that holds the file. An empty environment variable counts as unset.
#ifndef KSEF_CLIENT_CLIENT_CONFIG_H_
#define KSEF_CLIENT_CLIENT_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/connection.h"

namespace ksef::client {

inline constexpr char kConfigFileEnv[] = "KSEF_HSM_CLIENT_CONFIG";

// What one source says about the connection; nullopt = "this source is silent".
struct ConnectionSettings {
  std::optional<std::string> server;
  std::optional<std::string> ca_cert;
  std::optional<std::string> client_cert;
  std::optional<std::string> client_key;
  std::optional<std::string> server_name;
  std::optional<bool> plaintext;
  std::optional<absl::Duration> timeout;
};

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment (std::getenv).
EnvLookup ProcessEnvironment();

// "true", "yes", "on", "1" / "false", "no", "off", "0" (any case).
// `what` names the setting in the error message.
absl::StatusOr<bool> ParseBoolSetting(absl::string_view value, absl::string_view what);

// An absl duration ("10s", "1m30s", "500ms", "720h", "inf"), optionally
// led by whole days ("30d", "1d12h"), or a bare number of seconds ("10").
// Must be positive.
absl::StatusOr<absl::Duration> ParseTimeoutSetting(absl::string_view value, absl::string_view what);

// Parses config file text. `origin` names the file in errors ("FILE:LINE: ...");
// `base_dir` ("" = leave as is) is prepended to relative paths. Unknown keys,
// repeated keys and lines without '=' are errors.
absl::StatusOr<ConnectionSettings> ParseClientConfig(absl::string_view text,
                                                     absl::string_view origin,
                                                     absl::string_view base_dir);

// Reads and parses the config file at `path`.
absl::StatusOr<ConnectionSettings> ReadClientConfigFile(const std::string& path);

// The KSEF_HSM_* variables listed above (not KSEF_HSM_CLIENT_CONFIG).
absl::StatusOr<ConnectionSettings> SettingsFromEnvironment(const EnvLookup& env);

// Field by field: the value from `higher` if it has one, else from `lower`.
ConnectionSettings OverlaySettings(const ConnectionSettings& lower,
                                   const ConnectionSettings& higher);

// Fills unset settings with the ConnectionOptions defaults.
ConnectionOptions ToConnectionOptions(const ConnectionSettings& settings);

// The whole precedence chain: `flags` > environment > config file (from
// `config_flag`, else KSEF_HSM_CLIENT_CONFIG; none is fine) > defaults. Fails
// on a bad environment value or an unreadable/invalid config file.
absl::StatusOr<ConnectionOptions> ResolveConnectionOptions(
    const ConnectionSettings& flags, const std::optional<std::string>& config_flag,
    const EnvLookup& env);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLIENT_CONFIG_H_
