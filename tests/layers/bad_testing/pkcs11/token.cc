// Fixture: nor a header of a testing/ folder, even of its own folder.
#include "pkcs11/testing/fake_module.h"
