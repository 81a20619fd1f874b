// Fixture: an internal header may include its own folder and lower layers.
#include "common/strings.h"
#include "crypto/signer.h"
