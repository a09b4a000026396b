#include "meta/secret_box.h"

#include "base/uuid.h"
#include "core/crypto/aes_gcm.h"

namespace coffer::meta {
namespace {

constexpr std::string_view kPrefix = "1:";
constexpr std::string_view kAdContext = "coffer manager secret v1";

Bytes AssociatedData(std::string_view row_id, std::string_view field) {
  Bytes ad;
  ad.reserve(kAdContext.size() + row_id.size() + field.size() + 2);
  auto add = [&ad](std::string_view s) { ad.insert(ad.end(), s.begin(), s.end()); };
  add(kAdContext);
  ad.push_back(0);
  add(row_id);
  ad.push_back(0);
  add(field);
  return ad;
}

}  // namespace

std::string SecretBox::Seal(ByteView plain, std::string_view row_id, std::string_view field) const {
  Bytes sealed(kAesGcmNonceLen + plain.size() + kAesGcmTagLen);
  FillRandom(sealed.data(), kAesGcmNonceLen);
  AesGcmSeal(key_, sealed.data(), AssociatedData(row_id, field), plain,
             sealed.data() + kAesGcmNonceLen);
  return std::string(kPrefix) + HexEncode(sealed);
}

Result<SecretString> SecretBox::Open(std::string_view sealed, std::string_view row_id,
                                     std::string_view field) const {
  std::string what = std::string(field) + " of " + std::string(row_id);
  if (!sealed.starts_with(kPrefix)) {
    return Corruption("sealed " + what + " has an unknown format");
  }
  auto raw = HexDecode(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kAesGcmNonceLen + kAesGcmTagLen) {
    return Corruption("sealed " + what + " is malformed");
  }
  ByteView body = ByteView(*raw).subspan(kAesGcmNonceLen);
  std::string plain(body.size() - kAesGcmTagLen, '\0');
  if (!AesGcmOpen(key_, raw->data(), AssociatedData(row_id, field), body,
                  reinterpret_cast<uint8_t*>(plain.data()))) {
    return AuthFailed("cannot unwrap " + what +
                      ": the master key is not the one it was stored with, or the row was "
                      "altered");
  }
  return SecretString(std::move(plain));
}

}  // namespace coffer::meta
