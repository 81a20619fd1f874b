#include "metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "metrics/internal/pulled_gauges.h"

namespace ksef::metrics {
namespace {

// gRPC's status codes, by number, as the label code writes them.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",        "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",   "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",
    "UNAUTHENTICATED"};
constexpr int kUnknownCode = 2;

// Seconds: a SoftHSM2 EC signature takes well under a millisecond, a
// network HSM's several; a whole call includes the audit commit (fsync).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

// Events per commit: 1 when calls come one at a time, up to the writer's
// max_batch (1024) under load.
const prometheus::Histogram::BucketBoundaries& BatchBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  return *buckets;
}

int AlgorithmIndex(crypto::KeyAlgorithm algorithm) {
  return algorithm == crypto::KeyAlgorithm::kEcP256 ? 0 : 1;
}

// The child behind `slot`, made by `make` on first use (Family::Add returns
// the same child for the same labels, so a race makes it once).
template <typename T, typename Make>
T& Cached(std::atomic<T*>& slot, Make make) {
  T* child = slot.load(std::memory_order_acquire);
  if (child == nullptr) {
    child = &make();
    slot.store(child, std::memory_order_release);
  }
  return *child;
}

// "/ksef.hsm.v1.KeyService/GetKey" -> {"ksef.hsm.v1.KeyService", "GetKey"}.
std::pair<std::string, std::string> SplitMethod(absl::string_view full_method) {
  absl::string_view name = full_method;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  const size_t slash = name.find('/');
  if (slash == absl::string_view::npos) return {"other", std::string(name)};
  return {std::string(name.substr(0, slash)), std::string(name.substr(slash + 1))};
}

}  // namespace

const char* SignOperationLabel(SignOperation operation) {
  switch (operation) {
    case SignOperation::kAuthToken:
      return "auth_token";
    case SignOperation::kOfflineInvoice:
      return "offline_invoice";
    case SignOperation::kCsr:
      return "csr";
    case SignOperation::kSelfSignedCertificate:
      return "self_signed_certificate";
    case SignOperation::kAuditCheckpoint:
      return "audit_checkpoint";
  }
  return "other";
}

class RpcMetrics {
 public:
  RpcMetrics(std::string service, std::string method)
      : service_(std::move(service)), method_(std::move(method)) {}

  prometheus::Counter& ForCode(prometheus::Family<prometheus::Counter>& family, int code) const {
    return Cached(by_code_[code], [&]() -> prometheus::Counter& {
      return family.Add({{"service", service_}, {"method", method_}, {"code", kCodeNames[code]}});
    });
  }

 private:
  const std::string service_;
  const std::string method_;
  mutable std::array<std::atomic<prometheus::Counter*>, kCodeNames.size()> by_code_{};
};

Metrics::Metrics(const std::vector<std::string>& rpc_methods)
    : registry_(std::make_shared<prometheus::Registry>()),
      pulled_(std::make_shared<PulledGauges>()) {
  calls_ = &prometheus::BuildCounter()
                .Name("ksef_hsm_grpc_calls_total")
                .Help("Finished gRPC calls by service, method and status code.")
                .Register(*registry_);
  sign_seconds_ =
      &prometheus::BuildHistogram()
           .Name("ksef_hsm_sign_duration_seconds")
           .Help("Signatures made and recorded: the whole call, from the RPC's start to its "
                 "durable audit event (audit_checkpoint: signing the checkpoint).")
           .Register(*registry_);
  token_sign_seconds_ = &prometheus::BuildHistogram()
                             .Name("ksef_hsm_token_sign_duration_seconds")
                             .Help("Time in the token: C_SignInit and C_Sign, by key algorithm.")
                             .Register(*registry_);
  commit_seconds_ = &prometheus::BuildHistogram()
                         .Name("ksef_hsm_audit_commit_duration_seconds")
                         .Help("Audit store commits (one transaction per batch of events).")
                         .Register(*registry_)
                         .Add({}, LatencyBuckets());
  commit_events_ = &prometheus::BuildHistogram()
                        .Name("ksef_hsm_audit_commit_batch_events")
                        .Help("Events per audit store commit (group commit).")
                        .Register(*registry_)
                        .Add({}, BatchBuckets());
  auto& reloads = prometheus::BuildCounter()
                      .Name("ksef_hsm_policy_reloads_total")
                      .Help("Policy file reloads (SIGHUP) by result; a failed one keeps the old "
                            "policy.")
                      .Register(*registry_);
  reloads_ok_ = &reloads.Add({{"result", "ok"}});
  reloads_failed_ = &reloads.Add({{"result", "failed"}});
  build_info_ = &prometheus::BuildGauge()
                     .Name("ksef_hsm_build_info")
                     .Help("Always 1; the labels name the build of ksef-hsmd.")
                     .Register(*registry_);
  for (const std::string& name : rpc_methods) {
    if (rpc_by_name_.contains(name)) continue;
    auto [service, method] = SplitMethod(name);
    rpcs_.push_back(std::make_unique<RpcMetrics>(std::move(service), std::move(method)));
    rpc_by_name_.emplace(name, rpcs_.back().get());
  }
  rpcs_.push_back(std::make_unique<RpcMetrics>("other", "other"));
  other_rpc_ = rpcs_.back().get();
}

Metrics::~Metrics() = default;

const RpcMetrics* Metrics::Rpc(absl::string_view full_method) const {
  auto it = rpc_by_name_.find(full_method);
  return it == rpc_by_name_.end() ? other_rpc_ : it->second;
}

void Metrics::CountRpc(const RpcMetrics* rpc, int code) {
  if (code < 0 || code >= static_cast<int>(kCodeNames.size())) code = kUnknownCode;
  rpc->ForCode(*calls_, code).Increment();
}

void Metrics::ObserveSign(SignOperation operation, crypto::KeyAlgorithm algorithm,
                          absl::Duration whole_call) {
  auto& slot = sign_[static_cast<int>(operation)][AlgorithmIndex(algorithm)].child;
  Cached(slot, [&]() -> prometheus::Histogram& {
    return sign_seconds_->Add({{"operation", SignOperationLabel(operation)},
                               {"algorithm", crypto::KeyAlgorithmName(algorithm)}},
                              LatencyBuckets());
  }).Observe(absl::ToDoubleSeconds(whole_call));
}

void Metrics::ObserveTokenSign(crypto::KeyAlgorithm algorithm, absl::Duration token_time) {
  Cached(token_sign_[AlgorithmIndex(algorithm)].child, [&]() -> prometheus::Histogram& {
    return token_sign_seconds_->Add({{"algorithm", crypto::KeyAlgorithmName(algorithm)}},
                                    LatencyBuckets());
  }).Observe(absl::ToDoubleSeconds(token_time));
}

void Metrics::ObserveAuditCommit(size_t events, absl::Duration took) {
  commit_seconds_->Observe(absl::ToDoubleSeconds(took));
  commit_events_->Observe(static_cast<double>(events));
}

void Metrics::CountPolicyReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)->Increment(); }

void Metrics::SetBuildInfo(absl::string_view version, absl::string_view revision) {
  std::lock_guard<std::mutex> lock(build_info_mu_);
  if (build_info_child_ != nullptr) build_info_->Remove(build_info_child_);
  build_info_child_ =
      &build_info_->Add({{"version", std::string(version)}, {"revision", std::string(revision)}});
  build_info_child_->Set(1);
}

void Metrics::SetSources(Sources sources) { pulled_->SetSources(std::move(sources)); }

std::vector<std::shared_ptr<prometheus::Collectable>> Metrics::collectables() const {
  return {registry_, pulled_};
}

std::string Metrics::Serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : pulled_->Collect()) families.push_back(std::move(family));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ksef::metrics
