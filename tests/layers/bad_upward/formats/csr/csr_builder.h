// Fixture: formats and pkcs11 are peers.
#include "crypto/signer.h"
#include "pkcs11/key_store.h"
