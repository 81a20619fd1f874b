// Fixture: bench/ uses tests/support.
#include "pkcs11/key_store.h"
#include "tests/support/softhsm_token.h"
