// Fixture: tests of client/ and client/cli use the client fakes.
#include "client/testing/fake_server.h"
