#include "tests/support/xmlsec.h"

#include <fstream>

#include "formats/cert/certificate_info.h"
#include "tests/support/softhsm_token.h"

namespace ksef::testing {

int XmlsecVerify(const std::string& xml, const std::string& cert_der, std::string* output) {
  const std::string dir = MakeTempDir("ksef-xmlsec");
  std::ofstream(dir + "/cert.pem") << cert::CertificateToPem(cert_der);
  std::ofstream(dir + "/signed.xml", std::ios::binary) << xml;
  const int rc = RunCommand("xmlsec1 --verify --pubkey-cert-pem " + dir + "/cert.pem --id-attr:Id " +
                                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties " + dir +
                                "/signed.xml",
                            output);
  RunCommand("rm -rf " + dir);
  return rc;
}

}  // namespace ksef::testing
