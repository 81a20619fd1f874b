// libFuzzer target: ksef::client::ParseClientConfig (the ksef-hsm CLI's
// configuration file).
//
// Invariants (client_config.h's contract): a refusal is INVALID_ARGUMENT; an
// accepted timeout is positive; relative paths are resolved against
// base_dir; the settings convert to connection options.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool IsResolved(const std::optional<std::string>& path) {
  return !path.has_value() || path->empty() || absl::StartsWith(*path, "/");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ksef::client::ConnectionSettings> settings =
      ksef::client::ParseClientConfig(text, "fuzz.conf", "/home/user/.config/ksef-hsm");
  if (!settings.ok()) {
    FUZZ_CHECK(settings.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(!settings->timeout.has_value() || *settings->timeout > absl::ZeroDuration());
  FUZZ_CHECK(IsResolved(settings->ca_cert));
  FUZZ_CHECK(IsResolved(settings->client_cert));
  FUZZ_CHECK(IsResolved(settings->client_key));
  ksef::client::ToConnectionOptions(*settings);
  return 0;
}
