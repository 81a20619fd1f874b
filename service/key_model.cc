#include "service/key_model.h"

namespace ksef::service {

const char* KeyPurposeName(KeyPurpose purpose) {
  return purpose == KeyPurpose::kAuthentication ? "AUTHENTICATION" : "OFFLINE";
}

}  // namespace ksef::service
