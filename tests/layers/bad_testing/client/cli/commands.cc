// Fixture: the CLI may not use the client fakes.
#include "client/testing/fake_key_service.h"
