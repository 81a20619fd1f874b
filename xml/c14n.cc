#include "xml/c14n.h"

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>

#include <memory>

#include "xml/document.h"

namespace ksef::xml {
namespace {

struct OutputBufferDeleter {
  void operator()(xmlOutputBuffer* buf) const {
    if (buf != nullptr) xmlOutputBufferClose(buf);
  }
};

bool InSubtree(const xmlNode* node, const xmlNode* top) {
  for (; node != nullptr; node = node->parent) {
    if (node == top) return true;
  }
  return false;
}

struct NodeSet {
  const xmlNode* subtree;
  const xmlNode* excluded;
};

// libxml2 asks about every node of the document; namespace nodes arrive as
// xmlNs* (type XML_NAMESPACE_DECL) with the element that holds them as
// `parent`, attributes as nodes whose parent is their element.
int IsVisible(void* user_data, xmlNodePtr node, xmlNodePtr parent) {
  const auto* set = static_cast<const NodeSet*>(user_data);
  const xmlNode* anchor = node;
  if (node == nullptr || node->type == XML_NAMESPACE_DECL) anchor = parent;
  if (anchor == nullptr) return 0;
  if (set->subtree != nullptr && !InSubtree(anchor, set->subtree)) return 0;
  if (set->excluded != nullptr && InSubtree(anchor, set->excluded)) return 0;
  return 1;
}

}  // namespace

absl::StatusOr<std::string> Canonicalize(xmlDoc* doc, const xmlNode* subtree,
                                         const xmlNode* excluded, C14nMethod method) {
  EnsureXmlInitialized();
  std::unique_ptr<xmlOutputBuffer, OutputBufferDeleter> buf(xmlAllocOutputBuffer(nullptr));
  if (!buf) return absl::ResourceExhaustedError("libxml2: cannot allocate an output buffer");
  NodeSet set{subtree, excluded};
  int mode = method == C14nMethod::kExclusive ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0;
  int written = xmlC14NExecute(doc, IsVisible, &set, mode, /*inclusive_ns_prefixes=*/nullptr,
                               /*with_comments=*/0, buf.get());
  if (written < 0) return absl::InternalError("libxml2: canonicalization failed");
  return std::string(reinterpret_cast<const char*>(xmlOutputBufferGetContent(buf.get())),
                     xmlOutputBufferGetSize(buf.get()));
}

}  // namespace ksef::xml
