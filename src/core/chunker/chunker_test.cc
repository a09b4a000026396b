#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/chunker/fastcdc.h"
#include "core/chunker/zero.h"

namespace coffer {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// Small parameters give thousands of chunks from a few MiB, for statistics.
constexpr ChunkerParams kSmall{.min_size = 2048, .avg_size = 8192, .max_size = 32768};

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

GearTable TestGear(uint64_t seed) {
  GearTable gear;
  for (auto& g : gear) g = SplitMix64(&seed);
  return gear;
}

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = SplitMix64(&seed);
    std::memcpy(&out[i], &v, std::min<size_t>(8, n - i));
  }
  return out;
}

// 64 MiB of what a disk holds: random (compressed or encrypted files),
// text-like runs, zero runs shorter and longer than max_size, and copies of
// earlier blocks at unaligned offsets.
std::vector<uint8_t> MixedBuffer(size_t n, uint64_t seed) {
  static const char* const kWords[] = {"the ", "volume ", "backup ", "chunk\n", "data ",
                                       "of ",  "a ",      "zero ",   "block ",  "1234 "};
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out;
  out.reserve(n);
  const std::vector<uint8_t> random = RandomBytes(8 * kMiB, seed);
  out.insert(out.end(), 9 * kMiB, 0);  // a zero run well past max_size first
  while (out.size() < n) {
    const size_t len = std::min<size_t>(n - out.size(), 1024 + rng() % (6 * kMiB));
    switch (rng() % 4) {
      case 0: {
        const size_t from = rng() % (random.size() - len + 1);
        out.insert(out.end(), random.begin() + from, random.begin() + from + len);
        break;
      }
      case 1: {
        const size_t stop = out.size() + len;
        while (out.size() < stop) {
          const char* w = kWords[rng() % 10];
          out.insert(out.end(), w, w + std::min(std::strlen(w), stop - out.size()));
        }
        break;
      }
      case 2:
        out.insert(out.end(), len, 0);
        break;
      default: {
        const size_t from = rng() % (out.size() / 2 + 1) + 1;
        const size_t take = std::min(len, out.size() - from);
        for (size_t i = 0; i < take; ++i) out.push_back(out[from + i]);
        break;
      }
    }
  }
  out.resize(n);
  return out;
}

// The documented cut rule written as plainly as possible, one byte at a
// time. The hash runs from the chunk's first byte, not from min_size-64 as
// in FastCdc: the two agree because a byte's term leaves the 64-bit hash
// after 64 shifts, which is what makes the rule a function of a 64-byte
// window.
size_t ReferenceCut(const GearTable& gear, const ChunkerParams& p, const uint8_t* data,
                    size_t len) {
  int b = 0;
  while ((uint32_t{1} << b) < p.avg_size) ++b;
  uint64_t mask_s = 0;
  uint64_t mask_l = 0;
  for (int k = 0; k < b + 2; ++k) mask_s |= uint64_t{1} << (63 - k);
  for (int k = 0; k < b - 2; ++k) mask_l |= uint64_t{1} << (63 - k);
  const size_t limit = std::min<size_t>(len, p.max_size);
  uint64_t h = 0;
  for (size_t cut = 1; cut < limit; ++cut) {
    h = (h << 1) + gear[data[cut - 1]];
    if (cut >= p.min_size && cut < p.avg_size && (h & mask_s) == 0) return cut;
    if (cut >= p.avg_size && (h & mask_l) == 0) return cut;
  }
  return limit;
}

// Chunk lengths of the whole buffer, held in memory at once.
std::vector<size_t> AllCuts(const FastCdc& cdc, const std::vector<uint8_t>& data) {
  std::vector<size_t> cuts;
  for (size_t off = 0; off < data.size();) {
    const size_t cut = cdc.NextCut(data.data() + off, data.size() - off, true);
    EXPECT_GT(cut, 0u);
    if (cut == 0) break;
    cuts.push_back(cut);
    off += cut;
  }
  return cuts;
}

// Feeds `data` to the chunker the way the volume reader will: reads of
// next_read() bytes into a fixed buffer, NextCut whenever at least max_size
// bytes are buffered past the chunk start or the input is exhausted, and the
// unconsumed tail moved to the front before the next read.
std::vector<size_t> StreamCuts(const FastCdc& cdc, const std::vector<uint8_t>& data,
                               const std::function<size_t()>& next_read) {
  const size_t ahead = cdc.params().max_size;
  std::vector<uint8_t> buf(ahead + 8 * kMiB);
  size_t start = 0;  // the current chunk's first byte in buf
  size_t end = 0;    // one past the last buffered byte
  size_t src = 0;    // the next byte of `data` to read
  std::vector<size_t> cuts;
  for (;;) {
    if (end - start < ahead && src < data.size()) {
      std::memmove(buf.data(), buf.data() + start, end - start);
      end -= start;
      start = 0;
      while (end < ahead && src < data.size()) {
        const size_t n = std::min({next_read(), data.size() - src, buf.size() - end});
        std::memcpy(buf.data() + end, data.data() + src, n);
        end += n;
        src += n;
      }
    }
    if (end == start) break;
    const size_t cut = cdc.NextCut(buf.data() + start, end - start, src == data.size());
    cuts.push_back(cut);
    start += cut;
  }
  return cuts;
}

std::vector<size_t> Offsets(const std::vector<size_t>& cuts) {
  std::vector<size_t> ends;
  size_t off = 0;
  for (size_t c : cuts) ends.push_back(off += c);
  return ends;
}

TEST(FastCdcTest, MatchesByteAtATimeReferenceOnMixedData) {
  const std::vector<uint8_t> data = MixedBuffer(16 * kMiB, 1);
  for (const ChunkerParams& p : {ChunkerParams{}, kSmall, ChunkerParams{64, 128, 129}}) {
    const GearTable gear = TestGear(7);
    const FastCdc cdc(p, gear);
    size_t chunks = 0;
    for (size_t off = 0; off < data.size(); ++chunks) {
      const size_t want = ReferenceCut(gear, p, data.data() + off, data.size() - off);
      ASSERT_EQ(cdc.NextCut(data.data() + off, data.size() - off, true), want)
          << "offset " << off << " min " << p.min_size;
      off += want;
    }
    EXPECT_GE(chunks, data.size() / p.max_size);
  }
}

TEST(FastCdcTest, PassesAtConfirmsExactlyTheCutsThatAreNotTheLimit) {
  const std::vector<uint8_t> data = RandomBytes(16 * kMiB, 9);
  for (const ChunkerParams& p : {ChunkerParams{}, kSmall}) {
    const FastCdc cdc(p, TestGear(7));
    size_t passes = 0;
    for (size_t off = 0; off < data.size();) {
      const size_t left = data.size() - off;
      const size_t cut = cdc.NextCut(data.data() + off, left, true);
      const size_t limit = std::min<size_t>(left, p.max_size);
      // A cut before the limit is one that passed; the limit itself passes
      // only if its own test does (never at max_size, where none is made).
      if (cut < limit) {
        EXPECT_TRUE(cdc.PassesAt(data.data() + off, cut)) << "offset " << off;
        ++passes;
      }
      // No candidate before the cut passes.
      for (size_t c = p.min_size; c < cut; c += std::max<size_t>(1, cut / 97)) {
        ASSERT_FALSE(cdc.PassesAt(data.data() + off, c)) << "offset " << off << " c " << c;
      }
      off += cut;
    }
    EXPECT_GT(passes, 4u);
    EXPECT_FALSE(cdc.PassesAt(data.data(), p.min_size - 1));
    EXPECT_FALSE(cdc.PassesAt(data.data(), p.max_size));
  }
}

TEST(FastCdcTest, StreamingGivesTheSameCutsForEveryReadSize) {
  const std::vector<uint8_t> data = MixedBuffer(64 * kMiB, 2);
  const FastCdc cdc(ChunkerParams{}, TestGear(3));
  const std::vector<size_t> want = AllCuts(cdc, data);
  ASSERT_GT(want.size(), 20u);
  for (size_t read : {size_t{1}, size_t{7}, size_t{4096}, kMiB, 8 * kMiB}) {
    EXPECT_EQ(StreamCuts(cdc, data, [&] { return read; }), want) << "read size " << read;
  }
  std::mt19937_64 rng(4);
  EXPECT_EQ(StreamCuts(cdc, data,
                       [&] {
                         const size_t r = rng();
                         return 1 + (r % 8 == 0 ? r % 3 * kMiB : r % 70000);
                       }),
            want);
}

TEST(FastCdcTest, ChunksStayWithinBoundsAndAverageNearAvg) {
  const std::vector<uint8_t> random = RandomBytes(64 * kMiB, 5);
  for (const ChunkerParams& p : {ChunkerParams{}, kSmall}) {
    const FastCdc cdc(p, TestGear(6));
    for (const std::vector<uint8_t>& data : {random, MixedBuffer(32 * kMiB, 8)}) {
      const std::vector<size_t> cuts = AllCuts(cdc, data);
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        ASSERT_GE(cuts[i], p.min_size) << "chunk " << i;
        ASSERT_LE(cuts[i], p.max_size) << "chunk " << i;
      }
      ASSERT_GE(cuts.back(), 1u);
      ASSERT_LE(cuts.back(), p.max_size);
    }
    const double mean = double(random.size()) / double(AllCuts(cdc, random).size());
    EXPECT_GT(mean, 0.75 * p.avg_size) << "min " << p.min_size;
    EXPECT_LT(mean, 1.25 * p.avg_size) << "min " << p.min_size;
  }
}

// Inserts `extra` bytes at the middle of random data and checks that only
// the chunks around the insertion change.
void CheckInsertionResyncs(const ChunkerParams& p, size_t extra, uint64_t seed) {
  SCOPED_TRACE("min " + std::to_string(p.min_size) + ", inserted " + std::to_string(extra));
  const std::vector<uint8_t> before = RandomBytes(32 * kMiB, seed);
  const size_t at = before.size() / 2 + 12345;
  std::vector<uint8_t> after = before;
  const std::vector<uint8_t> inserted = RandomBytes(extra, seed + 1);
  after.insert(after.begin() + at, inserted.begin(), inserted.end());

  const FastCdc cdc(p, TestGear(seed + 2));
  const std::vector<size_t> old_ends = Offsets(AllCuts(cdc, before));
  const std::vector<size_t> new_ends = Offsets(AllCuts(cdc, after));

  // Every cut up to the insertion point is unchanged.
  size_t i = 0;
  while (old_ends[i] <= at) {
    ASSERT_EQ(new_ends[i], old_ends[i]);
    ++i;
  }
  // After it, the first cut that lands on a shifted old cut: from there on
  // the chunks are the old ones, moved by `extra`.
  const std::set<size_t> old_set(old_ends.begin(), old_ends.end());
  size_t j = i;
  while (j < new_ends.size() && !old_set.contains(new_ends[j] - extra)) ++j;
  ASSERT_LT(j, new_ends.size());
  EXPECT_LE(j - i, 3u) << "chunks that differ after the insertion";
  size_t k = std::find(old_ends.begin(), old_ends.end(), new_ends[j] - extra) - old_ends.begin();
  ASSERT_EQ(new_ends.size() - j, old_ends.size() - k);
  for (; j + 1 < new_ends.size(); ++j, ++k) {
    const size_t len = new_ends[j + 1] - new_ends[j];
    ASSERT_EQ(len, old_ends[k + 1] - old_ends[k]);
    ASSERT_EQ(std::memcmp(after.data() + new_ends[j], before.data() + old_ends[k], len), 0);
  }
}

TEST(FastCdcTest, InsertionChangesOnlyTheChunksAroundIt) {
  for (size_t extra : {size_t{1}, size_t{100}, size_t{4096}}) {
    CheckInsertionResyncs(ChunkerParams{}, extra, 10 + extra);
    CheckInsertionResyncs(kSmall, extra, 20 + extra);
  }
}

TEST(FastCdcTest, DifferentGearTablesGiveDifferentCuts) {
  const std::vector<uint8_t> data = RandomBytes(8 * kMiB, 30);
  const std::vector<size_t> a = Offsets(AllCuts(FastCdc(kSmall, TestGear(31)), data));
  const std::vector<size_t> b = Offsets(AllCuts(FastCdc(kSmall, TestGear(32)), data));
  ASSERT_GT(a.size(), 500u);
  std::vector<size_t> shared;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
  // Only the final cut (the end of the data) and rare coincidences agree.
  EXPECT_LT(shared.size(), a.size() / 20);
}

// Gear tables whose hash of 64 zero bytes, which is -gear[0], passes the
// test at min_size, first at avg_size, or never.
GearTable ZeroCaseGear(const ChunkerParams& p, uint32_t want) {
  GearTable gear = TestGear(40);
  const int b = std::countr_zero(p.avg_size);
  if (want == p.min_size) gear[0] = 0;
  if (want == p.avg_size) gear[0] = uint64_t{0} - (uint64_t{1} << (64 - b));
  return gear;
}

TEST(FastCdcTest, ZeroChunkSizeIsTheCutOfZeros) {
  for (const ChunkerParams& p : {ChunkerParams{}, kSmall}) {
    for (uint32_t want : {p.min_size, p.avg_size, p.max_size}) {
      const FastCdc cdc(p, ZeroCaseGear(p, want));
      EXPECT_EQ(cdc.zero_chunk_size(), want);
      const std::vector<uint8_t> zeros(p.max_size + 100, 0);
      EXPECT_EQ(cdc.NextCut(zeros.data(), zeros.size(), false), want);
      EXPECT_EQ(cdc.NextCut(zeros.data(), p.max_size, true), want);
    }
  }
}

// A caller that cuts zero runs without scanning them (as it will for holes)
// gets the cuts of the scanned bytes.
TEST(FastCdcTest, SkippingZeroRunsGivesTheScannedCuts) {
  for (const ChunkerParams& p : {ChunkerParams{}, kSmall}) {
    for (uint32_t want : {p.min_size, p.avg_size, p.max_size}) {
      const FastCdc cdc(p, ZeroCaseGear(p, want));
      const size_t z = cdc.zero_chunk_size();
      for (size_t run : {size_t{0}, size_t{1}, z - 1, z, z + 1, 3 * z + 12345, 5 * z}) {
        std::vector<uint8_t> data(run, 0);
        const std::vector<uint8_t> tail = RandomBytes(3 * p.max_size + 17, run);
        data.insert(data.end(), tail.begin(), tail.end());

        std::vector<size_t> skipped(run / z, z);
        const std::vector<uint8_t> rest(data.begin() + skipped.size() * z, data.end());
        for (size_t c : AllCuts(cdc, rest)) skipped.push_back(c);
        EXPECT_EQ(skipped, AllCuts(cdc, data)) << "zero run " << run << ", zero chunk " << z;
      }
      // Zeros to the end of the input: whole zero chunks, then the remainder.
      const std::vector<uint8_t> zeros(2 * z + z / 2, 0);
      EXPECT_EQ(AllCuts(cdc, zeros), (std::vector<size_t>{z, z, z / 2}));
    }
  }
}

TEST(FastCdcTest, NextCutEdgeCases) {
  const ChunkerParams p = kSmall;
  const FastCdc cdc(p, TestGear(50));
  const std::vector<uint8_t> data = RandomBytes(4 * p.max_size, 51);
  EXPECT_EQ(cdc.NextCut(data.data(), 0, true), 0u);
  EXPECT_EQ(cdc.NextCut(nullptr, 0, true), 0u);
  EXPECT_EQ(cdc.NextCut(data.data(), 1, true), 1u);
  EXPECT_EQ(cdc.NextCut(data.data(), p.min_size, true), p.min_size);
  // More than max_size given: the cut does not depend on how much more.
  const size_t cut = cdc.NextCut(data.data(), data.size(), false);
  EXPECT_EQ(cdc.NextCut(data.data(), p.max_size, false), cut);
  EXPECT_EQ(cdc.NextCut(data.data(), p.max_size, true), cut);
  // Reads nothing past max_size (the sanitizer build would catch it).
  const std::vector<uint8_t> exact(data.begin(), data.begin() + p.max_size);
  EXPECT_EQ(cdc.NextCut(exact.data(), exact.size(), false), cut);
  // Data with no cut in it (a repeated byte whose hash never passes) is cut
  // at max_size, or at the end of the input.
  const FastCdc never(p, ZeroCaseGear(p, p.max_size));
  const std::vector<uint8_t> zeros(2 * p.max_size, 0);
  EXPECT_EQ(never.NextCut(zeros.data(), zeros.size(), false), p.max_size);
  EXPECT_EQ(never.NextCut(zeros.data(), p.max_size - 1, true), p.max_size - 1);
  EXPECT_EQ(never.NextCut(zeros.data(), p.avg_size + 1, true), p.avg_size + 1);
}

// Pins the on-disk format: these cut points decide dedup across versions of
// every stored volume. If this fails, the format changed.
TEST(FastCdcTest, CutPointsAreStable) {
  const std::vector<uint8_t> data = RandomBytes(16 * kMiB, 60);
  const std::vector<size_t> cuts = AllCuts(FastCdc(ChunkerParams{}, TestGear(61)), data);
  ASSERT_GE(cuts.size(), 8u);
  EXPECT_EQ(
      std::vector<size_t>(cuts.begin(), cuts.begin() + 8),
      (std::vector<size_t>{1405738, 1117414, 1649399, 1081088, 726115, 680419, 1923617, 1583730}));
  const std::vector<size_t> small = AllCuts(FastCdc(kSmall, TestGear(62)), data);
  EXPECT_EQ(std::vector<size_t>(small.begin(), small.begin() + 8),
            (std::vector<size_t>{9191, 8934, 3514, 8385, 8286, 9522, 8199, 8806}));
}

TEST(ValidateChunkerParamsTest, AcceptsTheDefaultsAndTheExtremes) {
  EXPECT_TRUE(ValidateChunkerParams(ChunkerParams{}).has_value());
  EXPECT_TRUE(ValidateChunkerParams({64, 128, 129}).has_value());
  EXPECT_TRUE(ValidateChunkerParams({1 << 20, 32 << 20, 64 << 20}).has_value());
}

TEST(ValidateChunkerParamsTest, RejectsEachBadFieldByName) {
  struct Case {
    ChunkerParams params;
    const char* field;
  };
  const Case cases[] = {
      {{63, 1 << 20, 4 << 20}, "min_size"},                // below the hash window
      {{0, 1 << 20, 4 << 20}, "min_size"},                 // zero
      {{256 << 10, 3 << 19, 4 << 20}, "avg_size"},         // not a power of two
      {{256 << 10, 0, 4 << 20}, "avg_size"},               // zero
      {{1 << 20, 1 << 20, 4 << 20}, "min_size"},           // min == avg
      {{2 << 20, 1 << 20, 4 << 20}, "min_size"},           // min > avg
      {{256 << 10, 1 << 20, 1 << 20}, "max_size"},         // max == avg
      {{256 << 10, 1 << 20, 512 << 10}, "max_size"},       // max < avg
      {{256 << 10, 1 << 20, (64 << 20) + 1}, "max_size"},  // above 64 MiB
      {{256 << 10, 64 << 20, 128 << 20}, "max_size"},
  };
  for (const Case& c : cases) {
    const Status s = ValidateChunkerParams(c.params);
    ASSERT_FALSE(s.has_value()) << c.field;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message().find(c.field), std::string::npos) << s.error().message();
  }
}

TEST(IsAllZeroTest, EveryAlignmentLengthAndPosition) {
  // Guard bytes around the range are non-zero: reading past either end
  // would show as a false "not zero".
  std::vector<uint8_t> buf(64 + 200 + 64, 0xff);
  for (size_t align = 0; align < 64; ++align) {
    for (size_t n = 0; n <= 200; ++n) {
      uint8_t* p = buf.data() + 64 + align - 32;
      std::fill(buf.begin(), buf.end(), 0xff);
      std::fill(p, p + n, 0);
      ASSERT_TRUE(IsAllZero(p, n)) << "align " << align << " n " << n;
      for (size_t i = 0; i < n; ++i) {
        p[i] = 0x10;
        ASSERT_FALSE(IsAllZero(p, n)) << "align " << align << " n " << n << " at " << i;
        p[i] = 0;
      }
    }
  }
  EXPECT_TRUE(IsAllZero(nullptr, 0));
}

TEST(IsAllZeroTest, LargeBuffers) {
  const size_t n = 64 * kMiB + 13;
  std::vector<uint8_t> buf(n + 3, 0);
  for (size_t align = 0; align < 3; ++align) {
    uint8_t* p = buf.data() + align;
    EXPECT_TRUE(IsAllZero(p, n));
    for (size_t at : {size_t{0}, size_t{8}, size_t{63}, n / 2, n / 2 + 1, n - 9, n - 1}) {
      p[at] = 1;
      EXPECT_FALSE(IsAllZero(p, n)) << "non-zero at " << at;
      p[at] = 0;
    }
  }
}

}  // namespace
}  // namespace coffer
