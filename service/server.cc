#include "service/server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <google/protobuf/descriptor.h>

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "pkcs11/hsm.h"
#include "formats/cert/certificate_info.h"
#include "audit/anchor.h"
#include "audit/audit_log.h"
#include "audit/audit_store_factory.h"
#include "service/audit_key.h"
#include "service/audit_service.h"
#include "service/auth_service.h"
#include "service/certificate_cache.h"
#include "service/offline_service.h"
#include "formats/qr/links.h"
#include "service/audited_call.h"
#include "service/key_manager.h"
#include "metrics/metrics.h"
#include "metrics/metrics_endpoint.h"
#include "service/key_metrics.h"
#include "service/listen_address.h"
#include "service/malformed_request_interceptor.h"
#include "service/metrics_interceptor.h"
#include "service/policy.h"
#include "service/refusal_log.h"
#include "service/signing_gate.h"
#include "service/stream_limits.h"
#include "service/usage_limiter.h"
#include "service/key_registry.h"
#include "service/health_service.h"
#include "service/key_registry_factory.h"
#include "service/key_service.h"
#include "service/enrollment.h"
#include "service/enrollment_service.h"

namespace ksef::service {
namespace {

constexpr char kKeyServiceName[] = "ksef.hsm.v1.KeyService";
constexpr char kEnrollmentServiceName[] = "ksef.hsm.v1.EnrollmentService";
constexpr char kAuditServiceName[] = "ksef.hsm.v1.AuditService";
constexpr char kAuthServiceName[] = "ksef.hsm.v1.AuthService";
constexpr char kOfflineServiceName[] = "ksef.hsm.v1.OfflineInvoiceService";

std::string DefaultQrBase(const ServerConfig& config) {
  if (!config.qr_base_url.empty()) return config.qr_base_url;
  if (config.qr_environment == "production") return qr::QrBaseUrl(qr::Environment::kProd);
  if (config.qr_environment == "demo") return qr::QrBaseUrl(qr::Environment::kDemo);
  return qr::QrBaseUrl(qr::Environment::kTest);
}

// Worker threads kept polling between calls (see ApplyLimits).
constexpr int kIdleGrpcThreads = 8;

// How long a starting replica waits for another one's token writes.
constexpr absl::Duration kTokenOpenLockWait = absl::Minutes(1);

// Every method the server answers: the label set of the calls metric.
std::vector<std::string> ServedMethods() {
  std::vector<std::string> methods = {"/grpc.health.v1.Health/Check",
                                      "/grpc.health.v1.Health/Watch"};
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service : {kKeyServiceName, kEnrollmentServiceName, kAuditServiceName,
                              kAuthServiceName, kOfflineServiceName,
                              "grpc.reflection.v1alpha.ServerReflection"}) {
    const google::protobuf::ServiceDescriptor* descriptor = pool->FindServiceByName(service);
    if (descriptor == nullptr) continue;  // reflection: linked, not always registered
    for (int i = 0; i < descriptor->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", service, "/", descriptor->method(i)->name()));
    }
  }
  return methods;
}

// civetweb takes numeric addresses only.
std::string NumericHostPort(const std::string& host_port) {
  absl::string_view host, port;
  if (SplitHostPort(host_port, &host, &port) && host == "localhost") {
    return absl::StrCat("127.0.0.1:", port);
  }
  return host_port;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "ksef-hsmd";
  return name;
}

absl::StatusOr<std::string> ReadTlsFile(const std::string& path, absl::string_view option) {
  auto content = ReadFile(path);
  if (!content.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(option, ": ", content.status().message()));
  }
  return content;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config,
                                                      std::function<bool()> stop_requested) {
  // Before the token and the stores: a second process on a taken address
  // must stop without touching them.
  absl::Status address = CheckListenAddressFree(config.listen_address, config.listen_reuse_port);
  if (!address.ok()) return address;
  std::unique_ptr<Server> server(new Server(config, std::move(stop_requested)));
  // Each step, then a look at the stop request (a signal during start-up).
  const std::function<absl::Status()> steps[] = {
      [&] { return server->OpenRegistry(); },
      [&] { return server->OpenToken(); },
      [&]() -> absl::Status {
        auto policy = PolicyHolder::Open(config.policy_file);
        if (!policy.ok()) return policy.status();
        server->policy_ = std::move(*policy);
        return absl::OkStatus();
      },
      [&] { return server->OpenKeys(); },
      [&] {
        server->WarnExpiringCertificates();
        return server->StartAudit();
      },
      [&] {
        server->MakeServices();
        absl::Status metrics_started = server->StartMetrics();
        if (!metrics_started.ok()) return metrics_started;
        return server->StartGrpc();
      },
  };
  for (const auto& step : steps) {
    absl::Status stopped = server->CheckStartupStop();
    if (!stopped.ok()) return stopped;
    absl::Status done = step();
    if (!done.ok()) return done;
  }
  server->SetServing(true);
  server->monitor_ = std::thread([s = server.get()] { s->MonitorLoop(); });
  server->sweeper_ = std::thread([s = server.get()] { s->SweepLoop(); });
  return server;
}

absl::Status Server::CheckStartupStop() const {
  if (stop_requested_ && stop_requested_()) {
    return absl::CancelledError("stopped during start-up, before serving");
  }
  return absl::OkStatus();
}

absl::Status Server::OpenRegistry() {
  // state_dir holds the registry, the audit log and their -wal/-shm files:
  // private to the service user (0700; database files 0600, common/sqlite.h).
  absl::Status state_dir = MakePrivateDirectory(config_.state_dir);
  if (!state_dir.ok()) {
    return absl::Status(state_dir.code(), absl::StrCat("state_dir: ", state_dir.message()));
  }
  auto registry = OpenKeyRegistry({.kind = config_.registry_store,
                                   .sqlite_path = config_.state_dir + "/keys.db",
                                   .postgres_conninfo = config_.registry_postgres});
  if (!registry.ok()) return registry.status();
  registry_ = std::move(*registry);
  return absl::OkStatus();
}

absl::Status Server::OpenToken() {
  auto pin = ReadSecretFile(config_.pin_file);
  if (!pin.ok()) {
    return absl::Status(pin.status().code(), absl::StrCat("pin_file: ", pin.status().message()));
  }
  pkcs11::HsmOptions options;
  options.module_path = config_.pkcs11_module;
  options.token_label = config_.token_label;
  options.token_serial = config_.token_serial;
  options.pin = std::move(*pin);
  options.softhsm2_conf = config_.softhsm2_conf;
  options.token_store_dir = config_.token_store_dir;
  options.session_pool_size = config_.session_pool_size;
  options.max_concurrent_signs = config_.max_concurrent_signs;
  options.on_token_sign = [metrics = metrics_.get()](crypto::KeyAlgorithm algorithm,
                                                     absl::Duration took) {
    metrics->ObserveTokenSign(algorithm, took);
  };
  // Not while another replica writes token objects (they all take this lock
  // to write): a file-based token (SoftHSM2) read half-written at
  // C_Initialize looks absent or uninitialized.
  auto writes = registry_->Lock(kLockKeyCreation, kTokenOpenLockWait);
  if (!writes.ok()) return writes.status();
  auto hsm = pkcs11::Hsm::Open(std::move(options));
  if (!hsm.ok()) return hsm.status();
  hsm_ = std::move(*hsm);
  LogInfo("token '", hsm_->token_label(), "' open via ", hsm_->module_description());
  return absl::OkStatus();
}

absl::Status Server::OpenKeys() {
  certificates_ = std::make_unique<CertificateCache>();
  keys_ = std::make_unique<KeyManager>(&hsm_->keys(), registry_.get(), certificates_.get(),
                                       config_.destruction_grace_period);
  if (config_.registry_store != "sqlite") keys_->ShareRegistry();  // other replicas use it too
  gate_ = std::make_unique<SigningGate>(&hsm_->keys(), certificates_.get());
  // One pass over the token for everything start-up needs from it (the
  // audit key, reconcile, the signers' handles): never a find per key.
  const absl::Time began = absl::Now();
  LogInfo("reading the token's objects (one pass: audit key, reconcile, signer handles)");
  absl::StatusOr<pkcs11::TokenInventory> inventory;
  {
    // On a file-based token (SoftHSM2, serializes_object_writes) not while
    // another replica writes objects: its C_GenerateKeyPair fails
    // (CKR_FUNCTION_FAILED) while this process re-reads the object files.
    std::unique_ptr<RegistryLock> writes;
    if (hsm_->keys().serializes_object_writes()) {
      auto lock = registry_->Lock(kLockKeyCreation, kTokenOpenLockWait);
      if (!lock.ok()) return lock.status();
      writes = std::move(*lock);
    }
    inventory = hsm_->keys().Inventory(stop_requested_);
  }
  if (!inventory.ok()) return inventory.status();
  LogInfo("token inventory: ", inventory->objects, " objects, ", inventory->keys.size(),
          " private keys, read in ", absl::FormatDuration(absl::Now() - began));
  auto audit_key = OpenAuditKey(hsm_->keys(), *registry_, *inventory);
  if (!audit_key.ok()) return audit_key.status();
  keys_->ReserveTokenKey(audit_key->id);
  // From now on the token counts as the expected one only while it shows the
  // audit key: a token that comes back without it is not used (fail closed).
  hsm_->RequireKey(audit_key->id);
  audit_key_ = std::make_unique<pkcs11::TokenKey>(*audit_key);
  auto report = keys_->ReconcileAtStartup(*inventory);
  if (!report.ok()) return report.status();
  LogInfo("key registry: ", report->checked_keys, " keys, ", report->unknown_token_keys.size(),
          " unknown on token, ", report->missing_keys.size(), " missing on token, ",
          report->foreign_internal_label_keys.size(), " foreign with an internal label, ",
          report->incomplete_token_objects.size(), " incomplete token objects");
  auto destroyed = keys_->DestroyDue();
  if (!destroyed.ok()) LogWarning("destruction sweep: ", destroyed.status().message());
  return absl::OkStatus();
}

void Server::MakeServices() {
  const AccessGuard* guard = guard_.get();
  key_service_ = std::make_unique<KeyServiceImpl>(keys_.get(), guard);
  enrollment_ = std::make_unique<Enrollment>(keys_.get());
  enrollment_service_ =
      std::make_unique<EnrollmentServiceImpl>(enrollment_.get(), keys_.get(), guard, gate_.get());
  audit_service_ = std::make_unique<AuditServiceImpl>(audit_store_.get(), guard, AnchorFile());
  auth_service_ = std::make_unique<AuthServiceImpl>(keys_.get(), guard, gate_.get());
  StreamLimits::Options stream_options;
  stream_options.max_streams = config_.max_streams;
  stream_options.idle_timeout = config_.stream_idle_timeout;
  stream_options.write_timeout = config_.stream_write_timeout;
  streams_ = std::make_unique<StreamLimits>(stream_options);
  offline_service_ = std::make_unique<OfflineServiceImpl>(keys_.get(), guard, gate_.get(),
                                                          streams_.get(), DefaultQrBase(config_),
                                                          !config_.qr_base_url.empty());
}

absl::Status Server::StartAudit() {
  audit::AuditStoreConfig store_config;
  store_config.kind = config_.audit_store;
  store_config.sqlite_path =
      config_.audit_db.empty() ? config_.state_dir + "/audit.db" : config_.audit_db;
  store_config.postgres_conninfo = config_.audit_postgres;
  auto store = audit::OpenAuditStore(store_config);
  if (!store.ok()) return store.status();
  audit_store_ = std::move(*store);
  const std::string where =
      config_.audit_store == "postgres" ? "PostgreSQL" : store_config.sqlite_path;
  auto signer = AuditCheckpointSigner(hsm_->keys(), *audit_key_);
  if (!signer.ok()) return signer.status();
  signer->sign = [sign = std::move(signer->sign), metrics = metrics_.get()](
                     const std::string& digest) -> absl::StatusOr<std::string> {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> signature = sign(digest);
    if (signature.ok()) {
      // The audit key is EC P-256 (service/audit_key.h).
      metrics->ObserveSign(metrics::SignOperation::kAuditCheckpoint, crypto::KeyAlgorithm::kEcP256,
                           absl::Now() - start);
    }
    return signature;
  };
  audit::AuditLogOptions options;
  options.node = config_.node_id.empty() ? HostName() : config_.node_id;
  absl::Status pinned = CheckAuditKeyPinned(signer->public_key_der);
  if (!pinned.ok()) return pinned;
  absl::Status anchored = OpenAnchors(options, audit::KeyFingerprint(signer->public_key_der));
  if (!anchored.ok()) return anchored;
  options.checkpoint_interval = config_.audit_checkpoint_interval;
  options.checkpoint_events = config_.audit_checkpoint_events;
  options.on_commit = [metrics = metrics_.get()](size_t events, absl::Duration took) {
    metrics->ObserveAuditCommit(events, took);
  };
  auto log = audit::AuditLog::Start(audit_store_.get(), std::move(*signer), options);
  if (!log.ok()) return log.status();
  audit_log_ = std::move(*log);
  // The node's lease is held now (AuditLog::Start): what its last run left
  // reserved is its own.
  limiter_ = std::make_unique<UsageLimiter>(registry_.get(), audit_store_.get(), options.node);
  auto settled = limiter_->SettleAbandoned();
  if (!settled.ok()) return settled.status();
  RefusalLog::Options refusal_options;
  refusal_options.window = config_.refusal_audit_window;
  audit::AuditLog* log_ptr = audit_log_.get();
  refusals_ = std::make_unique<RefusalLog>(
      [log_ptr](std::vector<audit::AuditEvent> events) {
        return log_ptr->RecordEach(std::move(events));
      },
      refusal_options);
  guard_ = std::make_unique<AccessGuard>(policy_.get(), audit_log_.get(), limiter_.get(),
                                         refusals_.get(), certificates_.get(), metrics_.get(),
                                         config_.audit_durable_reads
                                             ? audit::Durability::kDurable
                                             : audit::Durability::kCommitted);
  LogInfo("audit log in ", where, " (node ", options.node, ")");
  return absl::OkStatus();
}

std::string Server::AnchorFile() const {
  return config_.audit_anchor_file.empty() ? config_.state_dir + "/audit-anchor.log"
                                           : config_.audit_anchor_file;
}

absl::Status Server::CheckAuditKeyPinned(const std::string& public_key_der) const {
  const std::string fingerprint = audit::KeyFingerprint(public_key_der);
  if (config_.audit_public_key_sha256.empty() || config_.audit_public_key_sha256 == fingerprint) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the audit key on the token has SHA-256 fingerprint ", fingerprint,
      " but audit_public_key_sha256 in the config pins ", config_.audit_public_key_sha256,
      ": wrong token, or the audit key was replaced; checkpoints signed now would not verify "
      "against the pinned key"));
}

absl::Status Server::OpenAnchors(audit::AuditLogOptions& options,
                                 const std::string& key_sha256) {
  const std::string path = AnchorFile();
  auto records = audit::ReadAnchorFile(path);
  if (!records.ok() && records.status().code() != absl::StatusCode::kNotFound) {
    return records.status();
  }
  if (records.ok()) {
    for (const audit::AnchorRecord& r : *records) {
      if (r.key_sha256 != key_sha256) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the audit anchor ", path, " (line ", r.line, ") was signed by the audit key ",
            r.key_sha256, " but the token's audit key is ", key_sha256,
            ": wrong token or anchor file"));
      }
      if (r.checkpoint.node == options.node) options.last_anchored = r.checkpoint;
    }
  }
  auto file = audit::FileAnchor::Open(path);
  if (!file.ok()) return file.status();
  anchors_.push_back(std::move(*file));
  if (config_.audit_anchor_syslog) anchors_.push_back(std::make_unique<audit::SyslogAnchor>());
  for (const auto& anchor : anchors_) options.anchors.push_back(anchor.get());
  LogInfo("audit checkpoints are anchored in ", path,
          config_.audit_anchor_syslog ? " and syslog" : "");
  return absl::OkStatus();
}

absl::Status Server::ReloadPolicy() {
  absl::Status reloaded = policy_->Reload();
  metrics_->CountPolicyReload(reloaded.ok());
  return reloaded;
}

absl::Status Server::StartMetrics() {
  if (config_.metrics_listen.empty()) return absl::OkStatus();
  key_metrics_ = std::make_unique<KeyMetricsSource>(registry_.get(), certificates_.get());
  metrics::Sources sources;
  sources.token = [hsm = hsm_.get()] {
    const pkcs11::HsmStats stats = hsm->Stats();
    metrics::TokenSnapshot token;
    token.serving = stats.usable;
    token.reconnects = stats.reconnects;
    token.session_pool_size = stats.session_pool_size;
    token.sessions_open = stats.sessions_open;
    token.sessions_in_use = stats.sessions_in_use;
    token.sessions_waiting = stats.sessions_waiting;
    token.signs_in_flight = stats.signs.in_flight;
    token.signs_waiting = stats.signs.waiting;
    return token;
  };
  sources.audit = [log = audit_log_.get()] {
    const audit::AuditLogStats stats = log->Stats();
    return metrics::AuditSnapshot{stats.healthy, stats.events_since_checkpoint,
                                  stats.last_checkpoint};
  };
  sources.keys = [keys = key_metrics_.get()] { return keys->Snapshot(); };
  metrics_->SetSources(std::move(sources));
  auto endpoint =
      metrics::MetricsEndpoint::Start(*metrics_, NumericHostPort(config_.metrics_listen));
  if (!endpoint.ok()) return endpoint.status();
  metrics_endpoint_ = std::move(*endpoint);
  LogInfo("metrics on http://", config_.metrics_listen, "/metrics (port ",
          metrics_endpoint_->port(), ", plain HTTP)");
  return absl::OkStatus();
}

int Server::metrics_port() const {
  return metrics_endpoint_ == nullptr ? 0 : metrics_endpoint_->port();
}

absl::Status Server::StartGrpc() {
  if (config_.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (config_.plaintext) {
    creds = grpc::InsecureServerCredentials();
    LogWarning("serving WITHOUT TLS on ", config_.listen_address,
               " (plaintext = true; loopback only)");
  } else {
    auto cert = ReadTlsFile(config_.tls_cert_file, "tls_cert_file");
    if (!cert.ok()) return cert.status();
    auto key = ReadTlsFile(config_.tls_key_file, "tls_key_file");
    if (!key.ok()) return key.status();
    // A client certificate is verified when presented but not demanded in the
    // handshake: a call without one is refused per RPC with UNAUTHENTICATED
    // and audited (a failed handshake would leave no trace), and health
    // checks work without one.
    grpc::SslServerCredentialsOptions ssl(
        config_.require_client_cert ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (!config_.tls_client_ca_file.empty()) {
      auto ca = ReadTlsFile(config_.tls_client_ca_file, "tls_client_ca_file");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(config_.listen_address, creds, &port_);
  ApplyLimits(builder);
  // grpc.health.v1 on the synchronous threads, not gRPC's callback service
  // (service/health_service.h); a Watch holds a thread, so an eighth of them.
  auto health = std::make_unique<HealthService>(
      std::vector<std::string>{kKeyServiceName, kEnrollmentServiceName, kAuditServiceName,
                               kAuthServiceName, kOfflineServiceName},
      std::max(1, config_.grpc_max_threads / 8));
  builder.RegisterService(health.get());
  builder.SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(std::move(health)));
  builder.RegisterService(key_service_.get());
  builder.RegisterService(enrollment_service_.get());
  builder.RegisterService(audit_service_.get());
  builder.RegisterService(auth_service_.get());
  builder.RegisterService(offline_service_.get());
  grpc_ = builder.BuildAndStart();
  if (grpc_ == nullptr || port_ == 0) {
    // Taken since the check at start-up?
    absl::Status address = CheckListenAddressFree(config_.listen_address, config_.listen_reuse_port);
    if (!address.ok()) return address;
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", config_.listen_address,
        " (do the TLS certificate and key match? can this user bind that address?)"));
  }
  LogInfo("serving on ", config_.listen_address, " (port ", port_, ", ",
          config_.plaintext ? "plaintext" : (config_.require_client_cert ? "mTLS" : "TLS"), ")");
  return absl::OkStatus();
}

void Server::ApplyLimits(grpc::ServerBuilder& builder) {
  // What one caller can make the server hold (docs/configuration.md, "Limits").
  grpc::ResourceQuota quota("ksef-hsmd");
  quota.SetMaxThreads(config_.grpc_max_threads);
  quota.Resize(static_cast<size_t>(config_.grpc_memory_mib) << 20);
  builder.SetResourceQuota(quota);
  // Up to kIdleGrpcThreads threads that finish a call stay to poll for the
  // next: gRPC's default of 2 made every call beyond two concurrent ones
  // start a thread and end it again (docs/performance.md). More than that
  // end when idle, so a burst leaves no threads behind.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::min(kIdleGrpcThreads, config_.grpc_max_threads));
  builder.SetMaxReceiveMessageSize(config_.max_request_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config_.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(config_.handshake_timeout)));
  if (config_.connection_idle_timeout > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_IDLE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config_.connection_idle_timeout)));
  }
  // Another process must not bind the same address and take a share of the
  // connections (SO_REUSEPORT is gRPC's default), unless asked for.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, config_.listen_reuse_port ? 1 : 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MalformedRequestInterceptorFactory>(guard_.get()));
  // After it: a request that did not parse counts with the code it gets.
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
}

void Server::SetServing(bool serving) {
  if (grpc_ == nullptr) return;
  auto* health = grpc_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  health->SetServingStatus(kKeyServiceName, serving);
  health->SetServingStatus(kEnrollmentServiceName, serving);
  health->SetServingStatus(kAuditServiceName, serving);
  health->SetServingStatus(kAuthServiceName, serving);
  health->SetServingStatus(kOfflineServiceName, serving);
  if (serving != serving_) {
    LogInfo("health: ", serving ? "SERVING" : "NOT_SERVING");
    serving_ = serving;
  }
}

void Server::MonitorLoop() {
  // Probes the token every token_check_interval, and at once when a call saw
  // trouble (pkcs11::Hsm::check_requested); while it is not usable, retries the
  // recovery quickly (kRecoveryRetryFirst doubling to kRecoveryRetryMax), so
  // the service serves again within seconds of the device coming back.
  constexpr absl::Duration kPoll = absl::Milliseconds(100);
  constexpr absl::Duration kRecoveryRetryFirst = absl::Milliseconds(250);
  constexpr absl::Duration kRecoveryRetryMax = absl::Seconds(2);
  absl::Time next_check = absl::Now() + config_.token_check_interval;
  absl::Duration retry = kRecoveryRetryFirst;
  while (!stop_.WaitForNotificationWithTimeout(kPoll)) {
    if (absl::Now() < next_check && !hsm_->check_requested()) continue;
    absl::Status s = hsm_->CheckHealth();
    if (s.ok() && !audit_log_->healthy()) {
      // The token is usable (perhaps again): retry the checkpoint now rather
      // than at the audit log's next probe.
      absl::Status checkpoint = audit_log_->CheckpointNow();
      if (!audit_log_->healthy()) {
        s = absl::UnavailableError(absl::StrCat("the audit log cannot write (signing is refused)",
                                                checkpoint.ok() ? "" : ": ", checkpoint.message()));
      }
    }
    SetServing(s.ok());
    if (s.ok()) {
      retry = kRecoveryRetryFirst;
      next_check = absl::Now() + config_.token_check_interval;
    } else {
      next_check = absl::Now() + std::min(retry, config_.token_check_interval);
      retry = std::min(retry * 2, kRecoveryRetryMax);
    }
  }
}

void Server::SweepLoop() {
  absl::Time next_certificate_check = absl::Now() + config_.certificate_check_interval;
  while (!stop_.WaitForNotificationWithTimeout(config_.destruction_check_interval)) {
    auto n = keys_->DestroyDue();
    if (!n.ok()) LogWarning("destruction sweep: ", n.status().message());
    if (absl::Now() >= next_certificate_check) {
      WarnExpiringCertificates();
      next_certificate_check = absl::Now() + config_.certificate_check_interval;
    }
  }
}

void Server::WarnExpiringCertificates() {
  auto expiring = keys_->KeysExpiringWithin(config_.certificate_expiry_warning);
  if (!expiring.ok()) {
    LogWarning("certificate expiry check: ", expiring.status().message());
    return;
  }
  absl::Time now = absl::Now();
  for (const KeyRecord& key : *expiring) {
    auto certificate = certificates_->Get(key.certificate_der);
    if (!certificate.ok()) continue;
    const cert::CertificateInfo* info = &(*certificate)->info;
    std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", info->not_after,
                                        absl::UTCTimeZone());
    if (info->not_after <= now) {
      LogWarning("certificate ", info->serial_hex, " of key ", key.name(), " EXPIRED at ", when,
                 "; the key cannot sign: enroll a new key");
    } else {
      LogWarning("certificate ", info->serial_hex, " of key ", key.name(), " expires at ", when,
                 " (in ", absl::ToInt64Hours(info->not_after - now) / 24,
                 " days): enroll a new key for the same subject and purpose before then");
    }
  }
}

void Server::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    LogInfo("shutting down: finishing in-flight calls (up to ",
            absl::FormatDuration(config_.shutdown_timeout), ")");
    metrics_endpoint_.reset();  // its scrapes read what is torn down below
    key_metrics_.reset();
    if (grpc_ != nullptr) {
      grpc_->GetHealthCheckService()->Shutdown();
      grpc_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(config_.shutdown_timeout));
      grpc_->Wait();
      LogDebug("gRPC server stopped");
    }
    stop_.Notify();
    if (monitor_.joinable()) monitor_.join();
    if (sweeper_.joinable()) sweeper_.join();
    grpc_.reset();
    streams_.reset();
    refusals_.reset();  // writes the refusals still counted
    if (audit_log_ != nullptr) audit_log_->Shutdown();  // final signed checkpoint
    audit_service_.reset();
    auth_service_.reset();
    offline_service_.reset();
    key_service_.reset();
    enrollment_service_.reset();
    enrollment_.reset();
    keys_.reset();
    registry_.reset();
    guard_.reset();
    limiter_.reset();
    audit_log_.reset();
    anchors_.clear();
    audit_store_.reset();
    hsm_.reset();  // closes sessions, then C_Finalize
    LogInfo("shutdown complete");
    done_.Notify();
  });
}

void Server::Wait() { done_.WaitForNotification(); }

Server::Server(ServerConfig config, std::function<bool()> stop_requested)
    : config_(std::move(config)),
      metrics_(std::make_unique<metrics::Metrics>(ServedMethods())),
      stop_requested_(std::move(stop_requested)) {}

Server::~Server() { Shutdown(); }

}  // namespace ksef::service
