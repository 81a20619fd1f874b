// Fixture: test-only code may include internals of its folder.
#include "pkcs11/internal/session.h"
