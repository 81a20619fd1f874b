#include "pkcs11/hsm.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/internal/token.h"

namespace ksef::pkcs11 {

namespace {
constexpr int kTokenListRetries = 10;
constexpr absl::Duration kTokenListRetryDelay = absl::Milliseconds(200);
}  // namespace

absl::StatusOr<std::unique_ptr<Hsm>> Hsm::Open(HsmOptions options) {
  if (!options.softhsm2_conf.empty()) {
    // SoftHSM2 reads its config in C_Initialize.
    ::setenv("SOFTHSM2_CONF", options.softhsm2_conf.c_str(), 1);
  }
  std::unique_ptr<Hsm> hsm(new Hsm());
  auto module = Module::Load(options.module_path);
  if (!module.ok()) return module.status();
  hsm->module_ = std::move(*module);
  const TokenSelector selector{options.token_label, options.token_serial};
  auto token = Token::Open(hsm->module_.get(), selector,
                           SecureString(std::string(options.pin.reveal())),
                           options.session_pool_size);
  // SoftHSM2 lists a token only if its files read back whole at
  // C_Initialize: while another process (a replica on the same token
  // directory) is writing them, the token may be missing for a moment.
  for (int attempt = 1; absl::IsNotFound(token.status()) &&
                        hsm->module_->serializes_object_writes() &&
                        hsm->module_->can_reinitialize() && attempt <= kTokenListRetries;
       ++attempt) {
    LogWarning(token.status().message(), "; another process may be writing the token's files: ",
               "looking again (", attempt, " of ", kTokenListRetries, ")");
    absl::SleepFor(kTokenListRetryDelay);
    absl::Status again = hsm->module_->Reinitialize();
    if (!again.ok()) return again;
    token = Token::Open(hsm->module_.get(), selector,
                        SecureString(std::string(options.pin.reveal())), options.session_pool_size);
  }
  if (!token.ok()) return token.status();
  hsm->token_ = std::move(*token);
  hsm->keys_ = std::make_unique<KeyStore>(hsm->token_.get(), options.token_store_dir,
                                          options.max_concurrent_signs,
                                          std::move(options.on_token_sign));
  return hsm;
}

Hsm::~Hsm() {
  keys_.reset();
  token_.reset();
  module_.reset();  // C_Finalize last
}

absl::Status Hsm::CheckHealth() { return token_->CheckAndRecover(); }
bool Hsm::check_requested() const { return token_->check_requested(); }
void Hsm::RequireKey(const std::string& cka_id) { keys_->RequireOnToken(cka_id); }

HsmStats Hsm::Stats() const {
  HsmStats stats;
  stats.usable = token_->usable();
  stats.reconnects = token_->reconnects();
  const SessionPoolStats pool = token_->pool_stats();
  stats.session_pool_size = pool.size;
  stats.sessions_open = pool.open;
  stats.sessions_in_use = pool.in_use;
  stats.sessions_waiting = pool.waiting;
  stats.signs = keys_->sign_load();
  return stats;
}

const std::string& Hsm::token_label() const { return token_->label(); }
const std::string& Hsm::module_description() const { return module_->description(); }

}  // namespace ksef::pkcs11
