// Fixture: a test includes internals, test-only headers and tests/support.
#include "pkcs11/internal/session.h"
#include "pkcs11/testing/fake_module.h"
#include "common/files_testing.h"
#include "tests/support/softhsm_token.h"
#include "gtest/gtest.h"
