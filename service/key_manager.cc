// KeyManager: construction. The rest of the class lives by concern in
// key_naming.cc (names -> key ids), key_creation.cc (Create, ImportKey),
// key_transitions.cc (enable/disable/schedule/restore/certificate),
// key_lookup.cc (Get, List, CurrentKeyFor, expiry) and key_sweeps.cc
// (destruction sweep, Reconcile). Signing goes through SigningGate.
#include "service/key_manager.h"

namespace ksef::service {

KeyManager::KeyManager(pkcs11::KeyStore* store, KeyRegistry* registry,
                       CertificateCache* certificates, absl::Duration grace_period, Clock clock)
    : store_(store),
      registry_(registry),
      certificates_(certificates),
      grace_period_(grace_period),
      clock_(std::move(clock)) {}

}  // namespace ksef::service
