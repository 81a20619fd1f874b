// Fixture: client/cli sits on the client library.
#include "client/connection.h"
#include "audit/verifier.h"
