// XML canonicalization (C14N) over a node set, for XMLDSig references.
// Thread-safe for distinct documents (see xml/document.h).
#ifndef KSEF_XML_C14N_H_
#define KSEF_XML_C14N_H_

#include <libxml/tree.h>

#include <string>

#include "absl/status/statusor.h"

namespace ksef::xml {

enum class C14nMethod {
  kInclusive,  // http://www.w3.org/TR/2001/REC-xml-c14n-20010315
  kExclusive,  // http://www.w3.org/2001/10/xml-exc-c14n# (no InclusiveNamespaces)
};

// Canonical form, without comments, of a document subset: the subtree of
// `subtree` (the whole document when nullptr), minus the subtree of
// `excluded` (none when nullptr), with its attributes and in-scope namespace
// nodes - i.e. what an XMLDSig Reference to `subtree` or URI="" (with the
// enveloped-signature transform removing `excluded`) feeds its digest.
// INTERNAL if libxml2 fails.
absl::StatusOr<std::string> Canonicalize(xmlDoc* doc, const xmlNode* subtree,
                                         const xmlNode* excluded, C14nMethod method);

}  // namespace ksef::xml

#endif  // KSEF_XML_C14N_H_
