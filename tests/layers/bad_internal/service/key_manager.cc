// Fixture: the service may use pkcs11/ only through its public headers.
#include "pkcs11/key_store.h"
#include "pkcs11/internal/session.h"
