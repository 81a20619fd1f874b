// Fixture: a public header may not include an internal one (its users do not see it).
#include "pkcs11/internal/session.h"
