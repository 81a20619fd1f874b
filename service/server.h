// Server: ksef-hsmd's running parts, wired in the right order.
//
// Start() opens the HSM (module, token, login), the key registry, reconciles
// the two, then serves gRPC (TLS/mTLS, or plaintext on loopback only) with
// grpc.health.v1 and optional reflection, and runs two background loops: the
// token health monitor (NOT_SERVING while the token or the audit log cannot
// be used, with reconnects) and the destruction sweep. Every RPC is
// authorized by the policy and audited (service/audited_call.h). Shutdown() is graceful: health goes
// NOT_SERVING, in-flight calls finish (up to shutdown_timeout), loops stop,
// then the token sessions close and C_Finalize runs.
// With metrics_listen set, a Prometheus endpoint serves metrics() at
// /metrics (metrics/metrics_endpoint.h); without it there is no endpoint
// thread or port (the counters still count, in memory).
// Thread-safe: Shutdown() may be called from a signal-handling thread.
#ifndef KSEF_SERVICE_SERVER_H_
#define KSEF_SERVICE_SERVER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "service/config.h"

namespace grpc {
class Server;
class ServerBuilder;
}

namespace ksef::pkcs11 {
class Hsm;
struct TokenKey;
}
namespace ksef::metrics {
class Metrics;
class MetricsEndpoint;
}
namespace ksef::audit {
class AnchorSink;
class AuditLog;
struct AuditLogOptions;
class AuditStore;
}

namespace ksef::service {

class KeyRegistry;
class KeyManager;
class KeyServiceImpl;
class Enrollment;
class EnrollmentServiceImpl;
class AuditServiceImpl;
class AuthServiceImpl;
class OfflineServiceImpl;
class CertificateCache;
class SigningGate;
class AccessGuard;
class UsageLimiter;
class PolicyHolder;
class RefusalLog;
class StreamLimits;
class KeyMetricsSource;

class Server {
 public:
  // `stop_requested` (may be empty) is asked between the start-up steps and
  // before each token object is read (the token inventory can take long on a
  // token with many objects); once it returns true, Start stops and returns
  // CANCELLED, having left nothing half-written (the steps it skips are
  // reads, or writes that are complete before it asks). A single long
  // PKCS#11 call (C_Initialize reading a large token, a C_FindObjects) and a
  // wait for another replica's lock are not interrupted: the stop is seen
  // when they return (ksef-hsmd's main does not wait that long; see there).
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerConfig& config, std::function<bool()> stop_requested = {});
  ~Server();  // calls Shutdown() if needed

  void Shutdown();
  // Re-reads policy_file (SIGHUP). A bad file leaves the old policy in force
  // and returns its error.
  absl::Status ReloadPolicy();
  // Blocks until Shutdown() has completed.
  void Wait();
  int port() const { return port_; }
  // The port of the metrics endpoint; 0 without metrics_listen.
  int metrics_port() const;
  metrics::Metrics& metrics() { return *metrics_; }

 private:
  Server(ServerConfig config, std::function<bool()> stop_requested);
  // CANCELLED when the start-up was asked to stop.
  absl::Status CheckStartupStop() const;
  absl::Status StartGrpc();
  // The metrics endpoint on metrics_listen (if set), with its sources.
  absl::Status StartMetrics();
  // Message size, thread, memory, stream and connection limits from the config.
  void ApplyLimits(grpc::ServerBuilder& builder);
  // KeyManager, SigningGate and the audit key; reconciles
  // registry and token and runs the first destruction sweep.
  absl::Status OpenKeys();
  // state_dir and the key registry (before the token: see OpenToken).
  absl::Status OpenRegistry();
  // The PKCS#11 module and token, under the registry's kLockKeyCreation.
  absl::Status OpenToken();
  absl::Status StartAudit();
  // The gRPC services, once the audit log runs.
  void MakeServices();
  // <state_dir>/audit-anchor.log unless audit_anchor_file says otherwise.
  std::string AnchorFile() const;
  // Opens the anchor sinks into anchors_ and hands them to `options`, with
  // this node's last anchored checkpoint. UNAVAILABLE when the anchor file
  // cannot be opened; INVALID_ARGUMENT (naming the line) when it is malformed.
  // `key_sha256` is the audit key's fingerprint; FAILED_PRECONDITION if the
  // anchor was written under another.
  absl::Status OpenAnchors(audit::AuditLogOptions& options, const std::string& key_sha256);
  // FAILED_PRECONDITION unless the audit key matches audit_public_key_sha256.
  absl::Status CheckAuditKeyPinned(const std::string& public_key_der) const;
  void MonitorLoop();
  void SweepLoop();
  // Logs a warning per key whose certificate expires within
  // certificate_expiry_warning (or has expired).
  void WarnExpiringCertificates();
  void SetServing(bool serving);

  const ServerConfig config_;
  // Outlives everything below (the token and the audit log report to it).
  std::unique_ptr<metrics::Metrics> metrics_;
  const std::function<bool()> stop_requested_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::unique_ptr<KeyRegistry> registry_;
  std::unique_ptr<CertificateCache> certificates_;  // outlives its users below
  std::unique_ptr<KeyManager> keys_;
  std::unique_ptr<SigningGate> gate_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<pkcs11::TokenKey> audit_key_;
  std::unique_ptr<audit::AuditStore> audit_store_;
  std::vector<std::unique_ptr<audit::AnchorSink>> anchors_;  // outlive audit_log_
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<UsageLimiter> limiter_;
  std::unique_ptr<RefusalLog> refusals_;
  std::unique_ptr<StreamLimits> streams_;
  std::unique_ptr<AccessGuard> guard_;
  std::unique_ptr<AuditServiceImpl> audit_service_;
  std::unique_ptr<AuthServiceImpl> auth_service_;
  std::unique_ptr<OfflineServiceImpl> offline_service_;
  std::unique_ptr<KeyServiceImpl> key_service_;
  std::unique_ptr<Enrollment> enrollment_;
  std::unique_ptr<EnrollmentServiceImpl> enrollment_service_;
  std::unique_ptr<KeyMetricsSource> key_metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint_;  // stopped first
  std::unique_ptr<grpc::Server> grpc_;
  int port_ = 0;
  bool serving_ = false;
  absl::Notification stop_;
  absl::Notification done_;
  std::thread monitor_;
  std::thread sweeper_;
  std::once_flag shutdown_once_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SERVER_H_
