// AuditEvent: one key use or key-management action, allowed or denied,
// successful or not (design.md section 6). Events of one server node form a
// hash chain: each carries the hash of its predecessor. Never holds a PIN,
// a password or key material.
#ifndef KSEF_AUDIT_AUDIT_EVENT_H_
#define KSEF_AUDIT_AUDIT_EVENT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::audit {

enum class Outcome {
  kSuccess,  // the operation ran and succeeded
  kFailure,  // allowed, but failed (bad input, key state, HSM down...)
  kDenied,   // refused by access control (or no caller identity)
};

const char* OutcomeName(Outcome outcome);  // "SUCCESS" | "FAILURE" | "DENIED"
bool OutcomeFromName(const std::string& name, Outcome* out);

// Who called: from the verified mTLS client certificate.
struct CallerIdentity {
  std::string subject;  // RFC 4514; empty when the caller presented no certificate
  std::string issuer;
  std::string serial;  // uppercase hex
  std::string name;    // the policy identity it matched, if any
};

struct AuditEvent {
  // Assigned by AuditLog when the event is written.
  int64_t seq = 0;
  std::string node;
  absl::Time time;
  std::string prev_hash;  // 32 bytes; zeros for the first event of a node
  std::string hash;       // 32 bytes, EventHash()

  // Filled by the caller.
  CallerIdentity caller;
  std::string operation;        // RPC name, e.g. "CreateKey", "SignAuthToken"
  std::string key_name;         // "keys/..." or empty
  std::string key_public_hash;  // SHA-256 of the key's SPKI, uppercase hex, or empty
  std::string subject;          // KSeF subject, e.g. "nip:5265877635"
  std::string context;          // KSeF context / extra, e.g. "Nip:5265877635"
  std::string signed_sha256;    // SHA-256 (hex) of the exact bytes signed, or empty
  Outcome outcome = Outcome::kSuccess;
  int status_code = 0;  // google.rpc.Code
  std::string message;  // the status message (no secrets by construction)
  // The network peer ("ipv4:10.0.0.7:51234"), as gRPC reports it. Empty in
  // events written before it was recorded.
  std::string peer;
  // How many calls this event stands for: 1, except for refused calls that
  // service/RefusalLog aggregated ("N more like this from this peer").
  int64_t count = 1;
};

// Upper bounds, in bytes, of an event's text fields as stored (see
// BoundEventFields). What a caller sends can never make an event bigger.
inline constexpr size_t kMaxEventNameBytes = 1024;     // caller subject, issuer
inline constexpr size_t kMaxEventFieldBytes = 256;     // key name, subject, context, peer...
inline constexpr size_t kMaxEventMessageBytes = 1024;  // status message

// Makes every text field storable and bounded: invalid UTF-8 bytes and
// control characters (C0, DEL, C1; a PostgreSQL TEXT cannot hold NUL) become
// visible escapes ("\x0a"), and a field over its bound is cut at a character
// boundary and ends in "...(N bytes)". AuditLog applies it to every event
// before hashing, so the stored, hashed and verified bytes are the same.
void BoundEventFields(AuditEvent& event);

// `text` made storable as above, at most about `max_bytes` long.
std::string BoundedText(absl::string_view text, size_t max_bytes);

// The chain hash: SHA-256 over a versioned, length-prefixed encoding of
// every field above except `hash` (time in microseconds since the epoch).
// Changing any field, or the predecessor, changes the hash. `peer` and
// `count` were added later: they are appended to the encoding only when set
// (peer not empty or count != 1), so events written before keep their hash.
std::string EventHash(const AuditEvent& event);

// A signed statement "the chain of `node` had head `head_hash` at `seq`".
// Version 1 (written before issue 12) signs (node, seq, head hash, time).
// Version 2 checkpoints also form their own chain per node: each signs the
// CheckpointDigest of the node's previous checkpoint (32 zero bytes for the
// node's first, its genesis), the number of events since that one, and
// whether it was the last thing the node wrote before a graceful shutdown;
// so deleting or editing a checkpoint breaks the link of the next.
struct Checkpoint {
  int version = 2;
  std::string node;
  int64_t seq = 0;
  std::string head_hash;  // hash of event `seq`; 32 zero bytes when seq == 0
  absl::Time time;
  std::string prev_hash;       // v2: CheckpointDigest of the previous checkpoint
  int64_t count = 0;           // v2: seq minus the previous checkpoint's seq
  bool closing = false;        // v2: written at graceful shutdown, nothing after it
  std::string signature;       // raw r||s over CheckpointDigest
  std::string public_key_der;  // SPKI of the audit key that signed it
};

inline constexpr int kCheckpointVersion = 2;  // what AuditLog writes

// The bytes a checkpoint signature covers, and the checkpoint's identity in
// the checkpoint chain: SHA-256 over a versioned, length-prefixed encoding of
// the fields its version signs (every field above but signature and key).
std::string CheckpointDigest(const Checkpoint& checkpoint);

// 32 zero bytes: the head hash of an empty chain and the prev_hash of a
// node's genesis checkpoint.
std::string ZeroHash();

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_AUDIT_EVENT_H_
