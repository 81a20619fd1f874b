// Fixture: the PKCS#11 layer may not see the service above it.
#include "pkcs11/key_store.h"
#include "service/key_service.h"
