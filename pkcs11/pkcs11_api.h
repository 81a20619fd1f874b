// The one place that includes the PKCS#11 header (p11-kit's copy of the
// OASIS 2.40 header, in its standard-names compatibility mode). Only files in
// pkcs11/ may include this; public pkcs11/ headers used by other modules must not.
#ifndef KSEF_PKCS11_PKCS11_API_H_
#define KSEF_PKCS11_PKCS11_API_H_

#include <p11-kit/pkcs11.h>

#endif  // KSEF_PKCS11_PKCS11_API_H_
