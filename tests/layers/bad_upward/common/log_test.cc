// Fixture: a test of a lower layer may not include a higher one either.
#include "common/log.h"
#include "audit/audit_log.h"
