// Small, fast, seedable pseudo-random generators for the test-image tools.
// They are not for secrets: coffer-mkimage needs bytes that are the same on
// every machine for the same seed (std::mt19937 distributions are not
// portable, std::random_device is not repeatable) and fast enough to produce
// gigabytes in seconds.
//
// Thread safety: plain values; one generator per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace coffer::tools {

// SplitMix64 (Steele, Lea, Flood 2014): turns any 64-bit seed, including 0,
// into a well-mixed stream; used to seed Xoshiro and to derive sub-seeds.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Derives an independent seed for a named part of the output (an extent
// index, a stream kind) so that each part's bytes depend only on the seed
// and the part, not on the order or the buffer sizes in which they are made.
inline uint64_t SubSeed(uint64_t seed, uint64_t domain, uint64_t index) {
  SplitMix64 m(seed ^ (domain * 0xd1b54a32d192ed03ull));
  m.Next();
  SplitMix64 n(m.Next() ^ (index * 0xa0761d6478bd642full));
  return n.Next();
}

// xoshiro256** (Blackman, Vigna 2018): ~1 ns per 64-bit word.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    SplitMix64 m(seed);
    for (auto& w : s_) w = m.Next();
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the tiny bias is
  // irrelevant for test data and keeps the result portable).
  uint64_t Below(uint64_t n) { return uint64_t((unsigned __int128)Next() * n >> 64); }

  // Uniform in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }

  // Uniform in [0, 1).
  double Unit() { return double(Next() >> 11) * 0x1.0p-53; }

  // Fills `n` bytes with random data, 8 bytes per step.
  void Fill(uint8_t* out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v = Next();
      std::memcpy(out + i, &v, 8);
    }
    if (i < n) {
      uint64_t v = Next();
      std::memcpy(out + i, &v, n - i);
    }
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace coffer::tools
