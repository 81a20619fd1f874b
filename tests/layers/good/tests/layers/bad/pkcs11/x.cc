// Fixture: tests/layers is skipped (the fixtures of the self-test).
#include "service/key_service.h"
