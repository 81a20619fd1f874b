// Fixture: production code may not include a *_testing.h header.
#include "formats/csr/csr_builder.h"
#include "formats/csr/name_rules_testing.h"
