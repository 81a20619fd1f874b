// Metrics: what ksef-hsmd shows Prometheus (docs/operations.md, "Metrics").
//
// The one home of every metric name, label and bucket layout. prometheus-cpp
// stays inside metrics/: the layers below never see it (pkcs11/ and audit/
// report through plain callbacks and snapshot structs the server wires to
// this class), and the service calls the small methods below.
//
// Two kinds of metric:
//   - pushed on the hot path (calls, signing and audit-commit latencies,
//     policy reloads): each child (one label combination) is created once,
//     on first use, and cached behind an atomic pointer, so a call costs a
//     relaxed load and prometheus-cpp's atomic add; no label strings are
//     built and no lock is taken after the first use;
//   - pulled at scrape time from the sources the server sets
//     (SetSources): token and session pool, audit log, per-key gauges. A
//     scrape calls them; nothing is stored between scrapes.
//
// Labels are bounded by construction: RPC names come from the list given
// to the constructor (anything else counts as method="other"), codes are
// the 17 gRPC codes, operations and algorithms are enums, and the per-key
// gauges carry only the key ids the key source hands in (bounded there).
// Thread-safe, except SetSources (once, before the endpoint serves).
#ifndef KSEF_METRICS_METRICS_H_
#define KSEF_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "crypto/signer.h"

namespace prometheus {
class Collectable;
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace ksef::metrics {

// What a signature was for: label operation of the signing histograms.
enum class SignOperation {
  kAuthToken,              // SignAuthToken (XAdES)
  kOfflineInvoice,         // SignOfflineInvoice / SignOfflineInvoices (KOD II)
  kCsr,                    // GenerateCsr
  kSelfSignedCertificate,  // IssueSelfSignedCertificate
  kAuditCheckpoint,        // a checkpoint of the audit chain (the audit key)
};
inline constexpr int kSignOperationCount = 5;
const char* SignOperationLabel(SignOperation operation);

// The token and its session pool, read at scrape time (pkcs11::HsmStats).
struct TokenSnapshot {
  bool serving = false;      // usable now; false while recovering
  uint64_t reconnects = 0;   // reconnect steps since start
  int64_t session_pool_size = 0;
  int64_t sessions_open = 0;
  int64_t sessions_in_use = 0;
  int64_t sessions_waiting = 0;  // calls waiting for a session
  int64_t signs_in_flight = 0;  // holding one of max_concurrent_signs
  int64_t signs_waiting = 0;    // waiting for one
};

// The audit log, read at scrape time.
struct AuditSnapshot {
  bool healthy = false;
  int64_t events_since_checkpoint = 0;
  std::optional<absl::Time> last_checkpoint;  // the newest checkpoint's signed time
};

// One key's gauges; a key with neither value is left out.
struct KeyGauges {
  std::string key_id;  // label key_id: the caller must pass only safe ids (1-63 [a-z0-9-])
  std::optional<absl::Time> certificate_not_after;
  std::optional<int64_t> signatures_remaining;  // under a usage limit
};
struct KeysSnapshot {
  std::vector<KeyGauges> keys;
  int64_t omitted = 0;  // keys that qualified but were left out by the cap
};

struct Sources {
  std::function<TokenSnapshot()> token;
  std::function<AuditSnapshot()> audit;
  std::function<KeysSnapshot()> keys;
};

// Which RPC a call is: from Metrics::Rpc, valid as long as the Metrics.
class RpcMetrics;
class PulledGauges;

class Metrics {
 public:
  // `rpc_methods`: the full gRPC method names the server serves
  // ("/ksef.hsm.v1.KeyService/GetKey"); each becomes one label pair
  // (service, method). Every other name counts as service="other",
  // method="other".
  explicit Metrics(const std::vector<std::string>& rpc_methods);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- hot path ---
  // The counters of `full_method` (or of "other"); never null. One hash
  // lookup without allocation; keep the pointer for the call.
  const RpcMetrics* Rpc(absl::string_view full_method) const;
  // One finished call with gRPC status code `code` (0..16; others count as UNKNOWN).
  void CountRpc(const RpcMetrics* rpc, int code);
  // A signature made and recorded: the whole call, from the RPC's start to
  // its audit event (for a checkpoint: signing it).
  void ObserveSign(SignOperation operation, crypto::KeyAlgorithm algorithm,
                   absl::Duration whole_call);
  // C_SignInit + C_Sign in the token, by key algorithm.
  void ObserveTokenSign(crypto::KeyAlgorithm algorithm, absl::Duration token_time);
  // One audit store commit of `events` events (failed ones too).
  void ObserveAuditCommit(size_t events, absl::Duration took);
  void CountPolicyReload(bool ok);

  // ksef_hsm_build_info{version,revision} 1 (replaces an earlier one).
  void SetBuildInfo(absl::string_view version, absl::string_view revision);

  // The pulled gauges. Call once, before the endpoint serves.
  void SetSources(Sources sources);

  // Everything in the Prometheus text format (what /metrics serves).
  std::string Serialize() const;

  // For the endpoint: the registry and the pulled gauges.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const;

 private:
  template <typename T>
  struct Lazy {
    std::atomic<T*> child{nullptr};
  };

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<PulledGauges> pulled_;
  prometheus::Family<prometheus::Counter>* calls_;
  prometheus::Family<prometheus::Histogram>* sign_seconds_;
  prometheus::Family<prometheus::Histogram>* token_sign_seconds_;
  prometheus::Histogram* commit_seconds_;
  prometheus::Histogram* commit_events_;
  prometheus::Counter* reloads_ok_;
  prometheus::Counter* reloads_failed_;
  prometheus::Family<prometheus::Gauge>* build_info_;

  std::vector<std::unique_ptr<RpcMetrics>> rpcs_;
  absl::flat_hash_map<std::string, const RpcMetrics*> rpc_by_name_;
  const RpcMetrics* other_rpc_;
  std::array<std::array<Lazy<prometheus::Histogram>, 2>, kSignOperationCount> sign_;
  std::array<Lazy<prometheus::Histogram>, 2> token_sign_;

  std::mutex build_info_mu_;
  prometheus::Gauge* build_info_child_ = nullptr;  // guarded by build_info_mu_
};

}  // namespace ksef::metrics

#endif  // KSEF_METRICS_METRICS_H_
