// Fixture: the client library may not see its CLI.
#include "client/connection.h"
#include "client/cli/args.h"
