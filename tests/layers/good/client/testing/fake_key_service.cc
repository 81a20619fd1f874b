// Fixture: client/testing is test code.
#include "client/testing/fake_key_service.h"
#include "lifecycle/transitions.h"
