// libFuzzer target: ksef::service::ParseServerConfig (ksef-hsmd's
// configuration file).
//
// Invariants (config.h's contract): a refusal is INVALID_ARGUMENT naming the
// file; an accepted config satisfies the cross-field rules (pin_file set,
// a token label or serial, plaintext only on loopback) and the documented
// ranges of the pool sizes; relative paths are resolved against base_dir.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "service/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ksef::service::ServerConfig> config =
      ksef::service::ParseServerConfig(text, "fuzz.conf", "/etc/ksef-hsm");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(config.status().message(), "fuzz.conf:"));
    return 0;
  }
  FUZZ_CHECK(!config->pin_file.empty());
  FUZZ_CHECK(absl::StartsWith(config->pin_file, "/"));
  FUZZ_CHECK(!config->token_label.empty() || !config->token_serial.empty());
  FUZZ_CHECK(!config->plaintext || ksef::service::IsLoopbackListenAddress(config->listen_address));
  FUZZ_CHECK(config->session_pool_size >= 1 && config->session_pool_size <= 256);
  FUZZ_CHECK(config->max_concurrent_signs >= 1 && config->max_concurrent_signs <= 1024);
  return 0;
}
