// 128-bit random identifiers (RFC 4122 version 4) for targets, backups,
// key slots and locks, printed as 32 lower-case hex digits with dashes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coffer {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static Uuid Random();
  // Accepts "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case).
  static std::optional<Uuid> Parse(std::string_view text);

  bool IsNil() const;
  std::string ToString() const;
  auto operator<=>(const Uuid&) const = default;
};

// Fills `out` from the kernel's random source (getrandom); aborts if the
// kernel cannot provide randomness, which no caller could recover from.
void FillRandom(uint8_t* out, size_t n);

}  // namespace coffer
