// Fixture: an include listed as a known violation passes.
#include "service/key_service.h"
