// Fixture: a public header includes lower layers only.
#include "crypto/signer.h"
#include "absl/status/statusor.h"
