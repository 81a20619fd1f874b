// Fixture: a source includes its own internals.
#include "pkcs11/internal/session.h"
#include "pkcs11/key_store.h"
#include <openssl/evp.h>
