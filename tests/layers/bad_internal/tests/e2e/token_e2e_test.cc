// Fixture: tests/ use public headers only.
#include "pkcs11/internal/session.h"
