// XmlsecVerify: the independent check of a KSeF XAdES signature, as
// ksef.md 2.5 describes it: xmlsec1 --verify with the signing certificate as
// the trusted key and the SignedProperties Id registered.
#ifndef KSEF_TESTS_SUPPORT_XMLSEC_H_
#define KSEF_TESTS_SUPPORT_XMLSEC_H_

#include <string>

namespace ksef::testing {

// Returns xmlsec1's exit status (0 = verified) and puts its output in *output.
int XmlsecVerify(const std::string& xml, const std::string& cert_der, std::string* output);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_XMLSEC_H_
