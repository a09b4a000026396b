#include "core/chunker/zero_runs.h"

#include <gtest/gtest.h>

#include <vector>

namespace coffer {
namespace {

std::vector<uint8_t> Data(size_t n) { return std::vector<uint8_t>(n, 0x77); }

TEST(ZeroRunsTest, PrefixCountsWholeZeroBlocksAndAZeroTailAtTheEnd) {
  auto d = Data(10 * kZeroBlock + 100);
  std::fill(d.begin(), d.begin() + 3 * kZeroBlock, 0);
  EXPECT_EQ(ZeroBlocksPrefix(d.data(), d.size(), true), 3 * kZeroBlock);
  std::fill(d.begin(), d.end(), 0);
  EXPECT_EQ(ZeroBlocksPrefix(d.data(), d.size(), true), d.size());
  EXPECT_EQ(ZeroBlocksPrefix(d.data(), d.size(), false), 10 * kZeroBlock);
  d[5 * kZeroBlock + 1] = 1;  // one byte spoils its whole block
  EXPECT_EQ(ZeroBlocksPrefix(d.data(), d.size(), true), 5 * kZeroBlock);
  EXPECT_EQ(ZeroBlocksPrefix(d.data(), 0, true), 0u);
}

TEST(ZeroRunsTest, FindsTheFirstAlignedRunLongEnough) {
  auto d = Data(1 << 20);
  // A 60 KiB run (too short) at 64 KiB, then a 64 KiB run at 256 KiB.
  std::fill(d.begin() + 65536, d.begin() + 65536 + 61440, 0);
  std::fill(d.begin() + 262144, d.begin() + 262144 + 65536, 0);
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 0, d.size(), true), 262144u);
  // The limit bounds where a run may start.
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 0, 200000, true), 200000u);
}

TEST(ZeroRunsTest, RunsAreAlignedToTheVolumeNotTheBuffer) {
  auto d = Data(1 << 20);
  std::fill(d.begin() + 100000, d.begin() + 100000 + 67000, 0);
  // At volume offset 0, the whole aligned blocks inside [100000, 167000)
  // start at 102400: only 15 fit, too short.
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 0, d.size(), true), d.size());
  // At volume offset 2400, data[100000] is aligned: 16 blocks fit.
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 2400, d.size(), true), 100000u);
}

TEST(ZeroRunsTest, ARunAtTheEndOfTheDataCountsWhenLongEnough) {
  auto d = Data(200000);
  std::fill(d.begin() + 131072, d.end(), 0);  // 68928 zero bytes to the end
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 0, d.size(), true), 131072u);
  // Not at the end of the segment, the partial tail block does not count:
  // 16 whole blocks from 131072 need 196608 bytes.
  EXPECT_EQ(FindZeroRun(d.data(), 196608 + 100, 0, 196608, false), 131072u);
  EXPECT_EQ(FindZeroRun(d.data(), 196608 - 100, 0, 196608 - 100, false), 196608u - 100);
  auto e = Data(150000);
  std::fill(e.begin() + 131072, e.end(), 0);  // only 18928: too short
  EXPECT_EQ(FindZeroRun(e.data(), e.size(), 0, e.size(), true), e.size());
}

TEST(ZeroRunsTest, NeverReturnsPositionZero) {
  auto d = std::vector<uint8_t>(1 << 20, 0);
  EXPECT_EQ(FindZeroRun(d.data(), d.size(), 0, d.size(), true), kZeroBlock);
}

}  // namespace
}  // namespace coffer
