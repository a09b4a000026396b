#include "base/uuid.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/bytes.h"

namespace coffer {

void FillRandom(uint8_t* out, size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "coffer: getrandom failed\n");
      std::abort();
    }
    out += got;
    n -= size_t(got);
  }
}

Uuid Uuid::Random() {
  Uuid u;
  FillRandom(u.bytes.data(), u.bytes.size());
  u.bytes[6] = uint8_t((u.bytes[6] & 0x0f) | 0x40);
  u.bytes[8] = uint8_t((u.bytes[8] & 0x3f) | 0x80);
  return u;
}

bool Uuid::IsNil() const {
  for (uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string Uuid::ToString() const {
  std::string h = HexEncode(bytes);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string hex;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
    } else {
      hex += text[i];
    }
  }
  auto b = HexDecode(hex);
  if (!b) return std::nullopt;
  Uuid u;
  std::copy(b->begin(), b->end(), u.bytes.begin());
  return u;
}

}  // namespace coffer
