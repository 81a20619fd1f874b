// Fixture: tests/ use public headers of every layer and test-only headers.
#include "client/testing/fake_key_service.h"
#include "service/key_service.h"
#include "tests/e2e/e2e_fixture.h"
