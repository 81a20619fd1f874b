#include "pkcs11/internal/inventory.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "pkcs11/internal/public_key.h"
#include "pkcs11/pkcs11_uri.h"

namespace ksef::pkcs11 {
namespace {

bool IsKeyObject(const ScannedObject& o) {
  return o.has_class && (o.object_class == CKO_PRIVATE_KEY || o.object_class == CKO_PUBLIC_KEY);
}

// Why a key object is not part of a complete key; empty when it is.
std::string IncompleteReason(const ScannedObject& o,
                             const absl::flat_hash_set<std::string>& partner_ids) {
  const bool is_private = o.object_class == CKO_PRIVATE_KEY;
  if (o.id.empty()) return "no CKA_ID";
  if (o.label.empty()) return "no label";
  if (partner_ids.contains(o.id)) return "";
  return is_private ? "a private key without its public key"
                    : "a public key without its private key";
}

}  // namespace

std::string KeyUri(const std::string& token_label, const std::string& id,
                   const std::string& label) {
  Pkcs11Uri uri;
  uri.token = token_label;
  uri.id = id;
  uri.object = label;
  uri.type = "private";
  return uri.ToString();
}

absl::StatusOr<TokenKey> DescribeKey(const ScannedObject& priv, const ScannedObject* pub,
                                     const std::string& token_label) {
  if (!priv.has_id) return absl::FailedPreconditionError("the private key has no CKA_ID");
  if (!priv.has_attestation) {
    return absl::FailedPreconditionError("the private key's attestation flags cannot be read");
  }
  if (!priv.has_key_type || (priv.key_type != CKK_EC && priv.key_type != CKK_RSA)) {
    return absl::FailedPreconditionError("key type is neither EC nor RSA");
  }
  TokenKey key;
  key.id = priv.id;
  key.label = priv.label;
  key.algorithm =
      priv.key_type == CKK_EC ? crypto::KeyAlgorithm::kEcP256 : crypto::KeyAlgorithm::kRsa2048;
  key.attestation = priv.attestation;
  if (key.algorithm == crypto::KeyAlgorithm::kRsa2048) {
    KSEF_ASSIGN_OR_RETURN(key.public_key_der,
                          crypto::RsaSpkiFromModulus(priv.modulus, priv.public_exponent));
  } else if (pub != nullptr) {
    KSEF_ASSIGN_OR_RETURN(key.public_key_der, EcP256SpkiFromEcPoint(pub->ec_point));
  }
  key.uri = KeyUri(token_label, key.id, key.label);
  return key;
}

ScannedInventory AssembleInventory(const std::vector<ScannedObject>& objects,
                                   const std::string& token_label) {
  ScannedInventory out;
  out.inventory.objects = objects.size();
  absl::flat_hash_set<std::string> private_ids, public_ids;
  absl::flat_hash_map<std::string, const ScannedObject*> first_public;
  for (const ScannedObject& o : objects) {
    if (!IsKeyObject(o)) {
      if (o.has_class && o.object_class == CKO_CERTIFICATE) {
        out.inventory.certificate_ids.insert(o.id);
      }
      continue;
    }
    const bool is_private = o.object_class == CKO_PRIVATE_KEY;
    (is_private ? private_ids : public_ids).insert(o.id);
    if (!is_private) first_public.emplace(o.id, &o);
  }
  for (const ScannedObject& o : objects) {
    if (!o.has_class) {
      IncompleteObject unreadable;
      unreadable.reason = "unreadable: no CKA_CLASS (a half-written object)";
      out.inventory.incomplete.push_back(std::move(unreadable));
      out.incomplete_handles.push_back(o.handle);
      continue;
    }
    if (!IsKeyObject(o)) continue;
    const bool is_private = o.object_class == CKO_PRIVATE_KEY;
    std::string reason = IncompleteReason(o, is_private ? public_ids : private_ids);
    if (!reason.empty()) {
      out.inventory.incomplete.push_back({is_private, o.id, o.label, std::move(reason)});
      out.incomplete_handles.push_back(o.handle);
    }
    if (!is_private) continue;
    auto pub = first_public.find(o.id);
    auto key = DescribeKey(o, pub == first_public.end() ? nullptr : pub->second, token_label);
    if (!key.ok()) {
      LogWarning("skipping a private key that cannot be described: ", key.status().message());
      continue;
    }
    out.inventory.index.emplace(key->id, out.inventory.keys.size());
    out.inventory.keys.push_back(std::move(*key));
    out.key_handles.push_back(o.handle);
  }
  return out;
}

}  // namespace ksef::pkcs11
