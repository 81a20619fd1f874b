#include "pkcs11/internal/object_scan.h"

#include "pkcs11/internal/objects.h"

namespace ksef::pkcs11 {
namespace {

// First-call buffer sizes: enough for what the service makes (16-byte
// CKA_ID, key-id labels, a P-256 point, an RSA-2048 modulus); a larger value
// costs a second call, never a truncation.
constexpr size_t kIdBuffer = 128;
constexpr size_t kLabelBuffer = 256;
constexpr size_t kPointBuffer = 160;
constexpr size_t kModulusBuffer = 1024;
constexpr size_t kExponentBuffer = 16;

// One C_GetAttributeValue template over caller-owned storage.
class AttributeRead {
 public:
  AttributeRead() {
    Ulong(CKA_CLASS, &object_class_);
    Ulong(CKA_KEY_TYPE, &key_type_);
    const CK_ATTRIBUTE_TYPE flags[] = {CKA_LOCAL, CKA_SENSITIVE, CKA_EXTRACTABLE,
                                       CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE};
    for (size_t i = 0; i < kFlags; ++i) {
      tmpl_.push_back(CK_ATTRIBUTE{flags[i], &flags_[i], sizeof(CK_BBOOL)});
    }
    Bytes(CKA_ID, kIdBuffer);
    Bytes(CKA_LABEL, kLabelBuffer);
    Bytes(CKA_EC_POINT, kPointBuffer);
    Bytes(CKA_MODULUS, kModulusBuffer);
    Bytes(CKA_PUBLIC_EXPONENT, kExponentBuffer);
  }
  AttributeRead(const AttributeRead&) = delete;
  AttributeRead& operator=(const AttributeRead&) = delete;

  // The module's answer. A value larger than its buffer is read by asking
  // for the lengths and reading again. The module may report another
  // per-attribute code (CKR_ATTRIBUTE_TYPE_INVALID: the template asks every
  // object for attributes only some have) instead of CKR_BUFFER_TOO_SMALL,
  // and both leave CK_UNAVAILABLE_INFORMATION: so a value the object should
  // have and did not return is asked again too.
  CK_RV Run(Session& session, CK_OBJECT_HANDLE handle) {
    CK_RV rv = Call(session, handle, /*query_lengths=*/false);
    if (rv == CKR_OK || (rv != CKR_BUFFER_TOO_SMALL && !ExpectedValueMissing())) return rv;
    rv = Call(session, handle, /*query_lengths=*/true);
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
      return rv;
    }
    for (size_t k = 0; k < byte_slots_.size(); ++k) {
      const CK_ATTRIBUTE& a = tmpl_[byte_slots_[k]];
      buffers_[k].resize(a.ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : a.ulValueLen);
    }
    return Call(session, handle, /*query_lengths=*/false);
  }

  ScannedObject Result(CK_OBJECT_HANDLE handle) {
    ScannedObject o;
    o.handle = handle;
    o.has_class = Present(0);
    o.object_class = object_class_;
    o.has_key_type = Present(1);
    o.key_type = key_type_;
    o.has_attestation = true;
    bool* outs[kFlags] = {&o.attestation.local, &o.attestation.sensitive,
                          &o.attestation.extractable, &o.attestation.always_sensitive,
                          &o.attestation.never_extractable};
    for (size_t i = 0; i < kFlags; ++i) {
      o.has_attestation = o.has_attestation && Present(2 + i);
      *outs[i] = flags_[i] == CK_TRUE;
    }
    std::string* bytes[] = {&o.id, &o.label, &o.ec_point, &o.modulus, &o.public_exponent};
    for (size_t k = 0; k < byte_slots_.size(); ++k) {
      const CK_ATTRIBUTE& a = tmpl_[byte_slots_[k]];
      if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) continue;
      bytes[k]->assign(buffers_[k].data(), a.ulValueLen);
    }
    o.has_id = tmpl_[byte_slots_[0]].ulValueLen != CK_UNAVAILABLE_INFORMATION;
    return o;
  }

 private:
  static constexpr size_t kFlags = 5;
  // Positions in buffers_ (the order of the Bytes() calls).
  static constexpr size_t kId = 0, kLabel = 1, kPoint = 2, kModulus = 3, kExponent = 4;

  void Ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG* out) { tmpl_.push_back(Attr(type, out)); }
  void Bytes(CK_ATTRIBUTE_TYPE type, size_t size) {
    buffers_.emplace_back(size, '\0');
    byte_slots_.push_back(tmpl_.size());
    tmpl_.push_back(CK_ATTRIBUTE{type, nullptr, size});
  }
  CK_RV Call(Session& session, CK_OBJECT_HANDLE handle, bool query_lengths) {
    for (size_t k = 0; k < byte_slots_.size(); ++k) {
      CK_ATTRIBUTE& a = tmpl_[byte_slots_[k]];
      a.pValue = query_lengths ? nullptr : buffers_[k].data();
      a.ulValueLen = query_lengths ? 0 : buffers_[k].size();
    }
    tmpl_[0].ulValueLen = tmpl_[1].ulValueLen = sizeof(CK_ULONG);
    for (size_t i = 0; i < kFlags; ++i) tmpl_[2 + i].ulValueLen = sizeof(CK_BBOOL);
    return session.f()->C_GetAttributeValue(session.handle(), handle, tmpl_.data(), tmpl_.size());
  }
  bool Present(size_t slot) const { return tmpl_[slot].ulValueLen != CK_UNAVAILABLE_INFORMATION; }
  bool BytesPresent(size_t k) const { return Present(byte_slots_[k]); }

  // A value every object of this class and key type has (CKA_ID, CKA_LABEL;
  // the EC point of a public EC key; modulus and exponent of RSA keys) came
  // back unavailable.
  bool ExpectedValueMissing() const {
    if (!Present(0)) return false;  // no class: nothing to expect
    if (!BytesPresent(kId) || !BytesPresent(kLabel)) return true;
    if (!Present(1)) return false;
    if (key_type_ == CKK_EC) return object_class_ == CKO_PUBLIC_KEY && !BytesPresent(kPoint);
    if (key_type_ == CKK_RSA) return !BytesPresent(kModulus) || !BytesPresent(kExponent);
    return false;
  }

  CK_ULONG object_class_ = 0;
  CK_ULONG key_type_ = 0;
  CK_BBOOL flags_[kFlags] = {};
  std::vector<std::string> buffers_;
  std::vector<size_t> byte_slots_;  // template index of each buffer
  std::vector<CK_ATTRIBUTE> tmpl_;
};

}  // namespace

absl::StatusOr<ScannedObject> ReadObject(Session& session, CK_OBJECT_HANDLE handle) {
  AttributeRead read;
  CK_RV rv = read.Run(session, handle);
  if (rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE) {
    return read.Result(handle);
  }
  absl::Status failed = session.Check(rv, "C_GetAttributeValue");
  if (absl::IsUnavailable(failed)) return failed;
  ScannedObject unreadable;  // e.g. an object file half written
  unreadable.handle = handle;
  return unreadable;
}

absl::StatusOr<std::vector<ScannedObject>> ScanObjects(Session& session,
                                                       const std::function<bool()>& stop) {
  // Every object: a half-written one may not even have a class to find it by.
  auto handles = FindObjects(session, {});
  if (!handles.ok()) return handles.status();
  std::vector<ScannedObject> out;
  out.reserve(handles->size());
  for (CK_OBJECT_HANDLE h : *handles) {
    if (stop && stop()) return absl::CancelledError("stopped while reading the token's objects");
    auto object = ReadObject(session, h);
    if (!object.ok()) return object.status();
    out.push_back(std::move(*object));
  }
  return out;
}

}  // namespace ksef::pkcs11
