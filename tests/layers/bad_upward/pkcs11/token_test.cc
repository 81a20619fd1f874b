// Fixture: a test of a lower layer may not use the fakes of a higher one.
#include "client/testing/fake_server.h"
