// Fixture: a CLI test uses the client fakes and its own test utilities.
#include "client/testing/fake_server.h"
#include "client/cli/cli_test_util.h"
