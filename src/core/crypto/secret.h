// Secret key material that is wiped (sodium_memzero) when released, and the
// one-time libsodium initialisation every crypto entry point relies on.
//
// Thread safety: a SecretKey is a value; InitCrypto may be called from any
// thread, any number of times.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace coffer {

// Initialises libsodium once; aborts if it cannot (no usable randomness).
void InitCrypto();

// Overwrites n bytes at p with zeros in a way the compiler cannot elide.
void Wipe(void* p, size_t n);
// Overwrites a string's bytes (a secret about to be freed or reused).
inline void WipeString(std::string& s) {
  if (!s.empty()) Wipe(s.data(), s.size());
}

// Whether two secrets (API tokens) are equal, in time that depends on
// neither their contents nor where they differ: both are hashed to 32 bytes
// (so lengths leak nothing either) and compared with sodium_memcmp.
[[nodiscard]] bool SecretsEqual(std::string_view a, std::string_view b);

inline constexpr size_t kKeyLen = 32;

class SecretKey {
 public:
  SecretKey() { bytes_.fill(0); }
  explicit SecretKey(const uint8_t* b) { std::copy(b, b + kKeyLen, bytes_.begin()); }
  SecretKey(const SecretKey& o) : bytes_(o.bytes_) {}
  SecretKey& operator=(const SecretKey& o) {
    bytes_ = o.bytes_;
    return *this;
  }
  ~SecretKey() { Wipe(bytes_.data(), bytes_.size()); }

  static SecretKey Random();

  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  bool operator==(const SecretKey& o) const { return bytes_ == o.bytes_; }

 private:
  std::array<uint8_t, kKeyLen> bytes_;
};

}  // namespace coffer
