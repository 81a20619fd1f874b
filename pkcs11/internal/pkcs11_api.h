// The one place that includes the PKCS#11 header (p11-kit's copy of the
// OASIS 2.40 header, in its standard-names compatibility mode). Only files in
// pkcs11/ may include this; public pkcs11/ headers must not. Outside pkcs11/,
// only tests/fault (a PKCS#11 module) and bench/raw_pkcs11.* (the raw
// baseline) include the C header, directly (docs/architecture.md).
#ifndef KSEF_PKCS11_INTERNAL_PKCS11_API_H_
#define KSEF_PKCS11_INTERNAL_PKCS11_API_H_

#include <p11-kit/pkcs11.h>

#endif  // KSEF_PKCS11_INTERNAL_PKCS11_API_H_
