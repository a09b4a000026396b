#include "core/compress/zstd_codec.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <random>
#include <string>

namespace coffer {
namespace {

Bytes Text(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) {
    s += "2026-11-24T04:20:" + std::to_string(i % 60) + " host-" + std::to_string(i % 7) +
         " INFO request served in " + std::to_string(i * 13 % 997) + " ms\n";
  }
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

Bytes Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

// Found by fuzz/manifest_parts_fuzz: Decompress reserved the whole limit
// for a frame that does not declare its size (and whatever size a frame
// declared), so a manifest's chunk list of a few bytes could make a reader
// allocate gigabytes. The room now follows what the frame holds.
TEST(ZstdCodecTest, DecompressAllocatesWhatTheFrameHoldsNotItsLimit) {
  const Bytes in = Text(1000);
  // A frame without its content size, as a streaming writer makes it.
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  Bytes frame(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), in.data(), in.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);

  Buffer out;
  ASSERT_TRUE(Decompress(frame, size_t(1) << 40, &out));  // a 1 TiB limit
  EXPECT_EQ(Bytes(out.view().begin(), out.view().end()), in);
  EXPECT_LT(out.capacity(), size_t(1) << 20);

  EXPECT_FALSE(Decompress(frame, in.size() - 1, &out));  // over the limit
  EXPECT_TRUE(Decompress(frame, in.size(), &out));       // at it
  Bytes trailing = frame;
  trailing.push_back(0);
  EXPECT_FALSE(Decompress(trailing, 1 << 20, &out));
  const Bytes truncated(frame.begin(), frame.end() - 3);
  EXPECT_FALSE(Decompress(truncated, 1 << 20, &out));
}

TEST(ZstdCodecTest, TextCompressesAndRoundTrips) {
  Bytes in = Text(1 << 20);
  Bytes out(in.size());
  size_t n = CompressIfSmaller(in, out.data());
  ASSERT_GT(n, 0u);
  EXPECT_LT(n, in.size() / 3);
  Buffer back;
  ASSERT_TRUE(Decompress(ByteView(out.data(), n), in.size(), &back).has_value());
  ASSERT_EQ(back.size(), in.size());
  EXPECT_TRUE(std::equal(in.begin(), in.end(), back.data()));
}

TEST(ZstdCodecTest, RandomDataIsLeftUncompressed) {
  Bytes in = Random(1 << 20, 7);
  Bytes out(in.size());
  EXPECT_EQ(CompressIfSmaller(in, out.data()), 0u);
}

TEST(ZstdCodecTest, ARandomChunkWithACompressiblePartIsStillCompressed) {
  // Random data with a text region in its third quarter: the sampling must
  // not give up on it.
  Bytes in = Random(1 << 20, 8);
  Bytes text = Text(256 << 10);
  std::copy(text.begin(), text.end(), in.begin() + (600 << 10));
  Bytes out(in.size());
  size_t n = CompressIfSmaller(in, out.data());
  ASSERT_GT(n, 0u);
  EXPECT_LT(n, in.size() - (150 << 10));
  Buffer back;
  ASSERT_TRUE(Decompress(ByteView(out.data(), n), in.size(), &back).has_value());
  EXPECT_TRUE(std::equal(in.begin(), in.end(), back.data()));
}

TEST(ZstdCodecTest, TinyInputIsLeftUncompressed) {
  Bytes in(10, 0);
  Bytes out(10);
  EXPECT_EQ(CompressIfSmaller(in, out.data()), 0u);
}

TEST(ZstdCodecTest, DecompressRejectsGarbageAndBombs) {
  Buffer out;
  Bytes garbage = Random(1000, 3);
  auto st = Decompress(garbage, 1 << 20, &out);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kCorruption);

  Bytes zeros(4 << 20, 0), comp(zeros.size());
  size_t n = CompressIfSmaller(zeros, comp.data());
  ASSERT_GT(n, 0u);
  auto bomb = Decompress(ByteView(comp.data(), n), 1 << 20, &out);
  ASSERT_FALSE(bomb.has_value());
  EXPECT_EQ(bomb.error().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffer
