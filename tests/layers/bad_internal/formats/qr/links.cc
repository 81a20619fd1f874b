// Fixture: internal to formats/xades/ means formats/qr/ may not include it.
#include "formats/xades/internal/canonical.h"
