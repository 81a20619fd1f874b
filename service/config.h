// ServerConfig: everything ksef-hsmd reads from its config file.
//
// File format (documented for operators in docs/configuration.md):
//   - one `key = value` per line; `#` starts a comment (whole line or after
//     whitespace); blank lines ignored; surrounding whitespace trimmed;
//     values may be wrapped in double quotes (then taken verbatim).
//   - booleans: true/false; durations: absl form ("90s", "15m", "2h") plus a
//     "d" suffix for days ("30d"); integers: decimal.
//   - relative paths are resolved against the config file's directory.
//   - an unknown key, a repeated key, or a bad value is an error that names
//     the line: "config.conf:12: unknown option 'fooo'".
#ifndef KSEF_SERVICE_CONFIG_H_
#define KSEF_SERVICE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::service {

struct ServerConfig {
  // --- network ---
  std::string listen_address = "127.0.0.1:7443";  // host:port
  // Serve without TLS. Refused unless listen_address is a loopback address
  // (127.0.0.0/8, ::1, localhost).
  bool plaintext = false;
  std::string tls_cert_file;       // PEM server certificate (chain); required unless plaintext
  std::string tls_key_file;        // PEM server private key; required unless plaintext
  std::string tls_client_ca_file;  // PEM CA(s) for client certificates; required unless plaintext
  bool require_client_cert = true;  // mTLS; false only accepted together with plaintext=false
                                    // for TLS without client auth
  bool reflection = false;          // gRPC server reflection
  // Let other sockets bind listen_address too (SO_REUSEPORT, the kernel then
  // spreads connections over them). Off: a second process on the same
  // address refuses to start instead of taking a share of the connections.
  bool listen_reuse_port = false;

  // --- HSM ---
  std::string pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_label = "ksef-hsm";  // the token is chosen by label ...
  std::string token_serial;              // ... or by serial (if set, wins)
  std::string pin_file;                  // required; must be mode 0600 or stricter
  // If set, exported as SOFTHSM2_CONF before C_Initialize (embedded default).
  std::string softhsm2_conf;
  // If set, fsync'ed (files + dir) after objects are created/destroyed, because
  // SoftHSM2's file store does not fsync. Leave empty for hardware HSMs.
  std::string token_store_dir;
  int session_pool_size = 8;     // 1..256
  int max_concurrent_signs = 4;  // 1..1024; signs in flight across all callers
  absl::Duration token_check_interval = absl::Seconds(5);

  // --- state and key lifecycle ---
  std::string state_dir = "/var/lib/ksef-hsm";  // SQLite key registry: <state_dir>/keys.db
  // sqlite (embedded default, <state_dir>/keys.db, one host) or postgres
  // (shared by every replica, registry_postgres: a libpq conninfo, the same
  // database as audit_postgres or another; the password in PGPASSFILE).
  std::string registry_store = "sqlite";
  std::string registry_postgres;
  absl::Duration destruction_grace_period = absl::Hours(24 * 30);
  absl::Duration destruction_check_interval = absl::Minutes(1);
  // Keys whose certificate expires within this window are logged as a
  // warning at start-up and every certificate_check_interval.
  absl::Duration certificate_expiry_warning = absl::Hours(24 * 30);
  absl::Duration certificate_check_interval = absl::Hours(24);

  // --- access control and audit ---
  // Who may do what (service/policy.h, docs/configuration.md). Without it
  // every call is denied. Reloaded on SIGHUP; a bad new file is refused and
  // the old policy stays.
  std::string policy_file;
  // sqlite (embedded default, audit_db) or postgres (shared by replicas,
  // audit_postgres: a libpq conninfo such as "host=db port=5432
  // dbname=ksef_audit user=ksef_hsm sslmode=verify-full"; keep the password
  // in PGPASSFILE, not here).
  std::string audit_store = "sqlite";
  std::string audit_db;  // SQLite audit store; default <state_dir>/audit.db
  std::string audit_postgres;
  // The chain head is signed by the audit key (a checkpoint) after at most
  // audit_checkpoint_events events or audit_checkpoint_interval after the
  // first event no checkpoint covers, whichever comes first; also at
  // start-up and at shutdown. At most that many events are ever unprotected.
  int audit_checkpoint_events = 1000;
  absl::Duration audit_checkpoint_interval = absl::Seconds(10);
  // Every checkpoint is also appended as one line to this file (opened
  // O_APPEND, fsynced); default <state_dir>/audit-anchor.log. A failed append
  // fails the checkpoint. Also to syslog (LOG_AUTHPRIV) when set.
  std::string audit_anchor_file;
  bool audit_anchor_syslog = false;
  // Events of calls that read and change nothing (GetKey, ListKeys, ...;
  // audited_call.cc) are committed without waiting for a flush to stable
  // storage: a power loss may lose the newest of them (never a signing or
  // state-changing event, whose commit flushes them too). true: every event
  // is flushed before its call returns.
  bool audit_durable_reads = false;
  // The SHA-256 fingerprint (64 hex digits) the audit key must have: the
  // server refuses to start with another one (a swapped token, or a key
  // generated anew). Empty: not pinned (the anchor still pins it).
  std::string audit_public_key_sha256;

  // --- offline invoices (KOD I / KOD II) ---
  // Which KSeF environment's verification links calls get by default:
  // test | demo | production. qr_base_url (https://..., no trailing slash)
  // overrides it for every call.
  std::string qr_environment = "test";
  std::string qr_base_url;

  // --- limits: what one caller can make the server hold (docs/configuration.md) ---
  // Largest request message accepted, in bytes (invoice XML is sent whole;
  // KSeF accepts invoices up to 3 MB with attachments).
  int max_request_bytes = 4 << 20;
  // gRPC worker threads at most (the sync server's pool; calls beyond it get
  // RESOURCE_EXHAUSTED instead of a new thread).
  int grpc_max_threads = 64;
  // Memory gRPC may use for connections and buffers, in MiB.
  int grpc_memory_mib = 256;
  // Concurrent calls on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  int max_streams_per_connection = 32;
  // Batch streams (SignOfflineInvoices) open at once, server-wide.
  int max_streams = 16;
  // A stream that sends nothing this long is closed.
  absl::Duration stream_idle_timeout = absl::Seconds(60);
  // A stream whose client does not read its answers this long is closed.
  absl::Duration stream_write_timeout = absl::Seconds(30);
  // A connection must finish its TLS handshake within this.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // A connection without calls this long is closed (0 = never).
  absl::Duration connection_idle_timeout = absl::Minutes(15);
  // Refused calls from one peer, caller and operation are written as one
  // audit event per window, with a count.
  absl::Duration refusal_audit_window = absl::Seconds(1);

  // --- metrics (docs/operations.md, "Metrics") ---
  // host:port of the Prometheus endpoint (plain HTTP, /metrics only). Empty
  // (the default): no endpoint, no thread, no port. A non-loopback address
  // is refused unless metrics_allow_remote = true.
  std::string metrics_listen;
  bool metrics_allow_remote = false;

  // --- operations ---
  // This replica's name: its audit chain id and lease. Required when
  // audit_store or registry_store is postgres; with both on SQLite (one
  // host) it defaults to the host name when empty.
  std::string node_id;
  std::string log_level = "info";   // debug | info | warning | error
  std::string log_format = "text";  // text | json
  absl::Duration shutdown_timeout = absl::Seconds(30);  // in-flight calls get this long
};

// Parses config text. `origin` names the file in error messages; relative
// paths are resolved against `base_dir`. INVALID_ARGUMENT with "origin:line:"
// for syntax/value errors, and without a line for cross-field rules
// (e.g. plaintext on a non-loopback address, missing pin_file).
absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text, absl::string_view origin,
                                               absl::string_view base_dir);

// Reads and parses a file. NOT_FOUND if it does not exist; FAILED_PRECONDITION
// if group or others may write it or it is owned by neither the service user
// nor root (common/files.h CheckTrustedFile: it names the PKCS#11 library).
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// Splits "host:port" or "[v6]:port"; `host` comes without brackets. False
// when there is no port or the host is empty or an unbracketed IPv6 address.
bool SplitHostPort(absl::string_view host_port, absl::string_view* host, absl::string_view* port);

// True for 127.0.0.0/8, ::1, [::1], localhost (with any port).
bool IsLoopbackListenAddress(absl::string_view host_port);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CONFIG_H_
