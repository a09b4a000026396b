#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "image.h"
#include "mutate.h"

namespace coffer::tools {
namespace {

namespace fs = std::filesystem;

class MkimageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mkimage_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string ReadAll(const std::string& path) {
    std::string data(fs::file_size(path), '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(data.data(), std::streamsize(data.size()));
    EXPECT_TRUE(in) << path;
    return data;
  }

  // FNV-1a over 8-byte words: enough to tell images apart.
  static uint64_t Hash(const std::string& data) {
    uint64_t h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 8 <= data.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, data.data() + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
    for (; i < data.size(); ++i) h = (h ^ uint8_t(data[i])) * 1099511628211ull;
    return h;
  }

  fs::path dir_;
};

constexpr uint64_t kMiB = 1 << 20;
using Sizes = std::initializer_list<uint64_t>;

TEST(PlanImageTest, CoversTheImageExactlyWithAlignedExtents) {
  for (uint64_t size : Sizes{0, 1, 4095, 4096, kMiB, kMiB + 1, 256 * kMiB, 2048 * kMiB}) {
    auto extents = PlanImage(size, 42);
    uint64_t at = 0;
    for (size_t i = 0; i < extents.size(); ++i) {
      const Extent& e = extents[i];
      ASSERT_EQ(e.offset, at) << size;
      ASSERT_GT(e.length, 0u);
      ASSERT_LE(e.length, kMaxExtent);
      EXPECT_EQ(e.offset % kBlock, 0u);
      if (i + 1 < extents.size()) {
        EXPECT_EQ(e.length % kBlock, 0u);
        EXPECT_GE(e.length, kMinExtent);
      }
      at += e.length;
    }
    EXPECT_EQ(at, size);
  }
}

TEST(PlanImageTest, HitsTheCompositionWithInterleavedExtents) {
  for (uint64_t size : {64 * kMiB, 2048 * kMiB}) {
    for (uint64_t seed : {1, 2, 3}) {
      auto extents = PlanImage(size, seed);
      std::array<uint64_t, kExtentKinds> bytes{};
      size_t changes = 0;
      for (size_t i = 0; i < extents.size(); ++i) {
        bytes[size_t(extents[i].kind)] += extents[i].length;
        if (i > 0 && extents[i].kind != extents[i - 1].kind) ++changes;
      }
      for (size_t k = 0; k < kExtentKinds; ++k) {
        EXPECT_NEAR(double(bytes[k]) / double(size), kComposition[k], 0.02)
            << ExtentKindName(ExtentKind(k)) << " size " << size << " seed " << seed;
      }
      EXPECT_GE(changes, 40u) << "kinds should alternate like a used file system";
    }
  }
}

TEST(PlanImageTest, RepeatsCopyEarlierDataAtAlignedOffsets) {
  auto extents = PlanImage(512 * kMiB, 9);
  size_t repeats = 0;
  for (const Extent& e : extents) {
    if (e.kind != ExtentKind::kRepeat) continue;
    ++repeats;
    uint64_t total = 0;
    for (const Piece& p : e.pieces) {
      EXPECT_EQ(p.source % kBlock, 0u);
      EXPECT_LE(p.source + p.length, e.offset);
      // The source lies inside one random or text extent.
      bool inside = false;
      for (const Extent& s : extents) {
        if ((s.kind == ExtentKind::kRandom || s.kind == ExtentKind::kText) &&
            p.source >= s.offset && p.source + p.length <= s.offset + s.length) {
          inside = true;
        }
      }
      EXPECT_TRUE(inside) << "piece at " << p.source;
      total += p.length;
    }
    EXPECT_EQ(total, e.length);
  }
  EXPECT_GT(repeats, 3u);
}

TEST_F(MkimageTest, SameSeedSameBytesOtherSeedOtherBytes) {
  ASSERT_TRUE(CreateImage(Path("a"), 48 * kMiB + 123, 7, false));
  ASSERT_TRUE(CreateImage(Path("b"), 48 * kMiB + 123, 7, false));
  ASSERT_TRUE(CreateImage(Path("c"), 48 * kMiB + 123, 8, false));
  const std::string a = ReadAll(Path("a"));
  EXPECT_EQ(Hash(a), Hash(ReadAll(Path("b"))));
  EXPECT_NE(Hash(a), Hash(ReadAll(Path("c"))));
}

TEST_F(MkimageTest, SizeIsExact) {
  for (uint64_t size : Sizes{0, 1, 4095, 4097, kMiB, kMiB + 1, 3 * kMiB + 7}) {
    for (bool sparse : {false, true}) {
      ASSERT_TRUE(CreateImage(Path("s"), size, 1, sparse));
      EXPECT_EQ(fs::file_size(Path("s")), size) << "sparse " << sparse;
    }
  }
}

TEST_F(MkimageTest, ZeroFractionAndCompressibilityAreRealistic) {
  const uint64_t size = 128 * kMiB;
  ASSERT_TRUE(CreateImage(Path("img"), size, 3, false));
  const std::string img = ReadAll(Path("img"));
  ASSERT_EQ(img.size(), size);
  static const char kZero[kBlock] = {};
  uint64_t zero_blocks = 0;
  for (uint64_t off = 0; off < size; off += kBlock) {
    zero_blocks += std::memcmp(img.data() + off, kZero, kBlock) == 0;
  }
  EXPECT_NEAR(double(zero_blocks * kBlock) / double(size), 0.30, 0.03);

  // zstd -1 on the text extents: 3-4x, like logs; random stays random.
  std::array<uint64_t, kExtentKinds> in{}, out{};
  std::vector<char> dst(ZSTD_compressBound(kMaxExtent));
  for (const Extent& e : PlanImage(size, 3)) {
    size_t n = ZSTD_compress(dst.data(), dst.size(), img.data() + e.offset, e.length, 1);
    ASSERT_FALSE(ZSTD_isError(n));
    in[size_t(e.kind)] += e.length;
    out[size_t(e.kind)] += n;
  }
  const double text_ratio = double(in[1]) / double(out[1]);
  EXPECT_GE(text_ratio, 3.0);
  EXPECT_LE(text_ratio, 4.0);
  EXPECT_LT(double(in[0]) / double(out[0]), 1.01);
}

TEST_F(MkimageTest, SparseLeavesHolesWithTheSameBytes) {
  const uint64_t size = 64 * kMiB;
  ASSERT_TRUE(CreateImage(Path("dense"), size, 5, false));
  ASSERT_TRUE(CreateImage(Path("sparse"), size, 5, true));
  struct stat dense, sparse;
  ASSERT_EQ(::stat(Path("dense").c_str(), &dense), 0);
  ASSERT_EQ(::stat(Path("sparse").c_str(), &sparse), 0);
  EXPECT_EQ(sparse.st_size, dense.st_size);
  EXPECT_LT(double(sparse.st_blocks), 0.8 * double(dense.st_blocks));
  EXPECT_EQ(ReadAll(Path("dense")), ReadAll(Path("sparse")));
}

TEST(PlanMutationTest, ClusteredDisjointWritesOfTheRequestedSize) {
  const uint64_t size = 2048 * kMiB;
  MutationPlan plan = PlanMutation(size, 1.0, 1);
  EXPECT_NEAR(double(plan.bytes) / double(size), 0.01, 0.0005);
  EXPECT_GE(plan.hot_zones, 3u);
  EXPECT_GT(plan.extents, 3u);
  EXPECT_GT(plan.scattered_blocks, 100u);
  uint64_t end = 0, sum = 0;
  for (const MutationWrite& w : plan.writes) {
    EXPECT_GE(w.offset, end) << "writes overlap";
    EXPECT_EQ(w.offset % kBlock, 0u);
    if (w.scattered) {
      EXPECT_EQ(w.length, kBlock);
    } else {
      EXPECT_LE(w.length, 2 * kMiB);
    }
    end = w.offset + w.length;
    sum += w.length;
  }
  EXPECT_EQ(sum, plan.bytes);
}

TEST(PlanMutationTest, TinyAndFullImages) {
  EXPECT_EQ(PlanMutation(0, 1, 1).bytes, 0u);
  EXPECT_EQ(PlanMutation(1, 1, 1).bytes, 1u);
  EXPECT_EQ(PlanMutation(4095, 100, 1).bytes, 4095u);
  EXPECT_EQ(PlanMutation(kMiB + 1, 100, 1).bytes, kMiB + 1);
  EXPECT_EQ(PlanMutation(64 * kMiB, 100, 2).bytes, 64 * kMiB);
}

TEST_F(MkimageTest, MutateChangesAboutTheRequestedFractionDeterministically) {
  const uint64_t size = 96 * kMiB;
  ASSERT_TRUE(CreateImage(Path("img"), size, 4, false));
  fs::copy_file(Path("img"), Path("m1"));
  fs::copy_file(Path("img"), Path("m2"));
  auto plan = MutateImage(Path("m1"), 2.0, 11);
  ASSERT_TRUE(plan) << plan.error().message();
  ASSERT_TRUE(MutateImage(Path("m2"), 2.0, 11));
  const std::string before = ReadAll(Path("img")), after = ReadAll(Path("m1"));
  EXPECT_EQ(after, ReadAll(Path("m2")));
  ASSERT_EQ(after.size(), size);
  uint64_t changed = 0;
  for (uint64_t off = 0; off < size; off += kBlock) {
    changed += std::memcmp(before.data() + off, after.data() + off, kBlock) != 0;
  }
  EXPECT_EQ(changed * kBlock, plan->bytes);
  EXPECT_NEAR(double(changed * kBlock) / double(size), 0.02, 0.002);
}

TEST_F(MkimageTest, MutateNamesAMissingFile) {
  auto r = MutateImage(Path("missing"), 1, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("missing"), std::string::npos);
}

int RunMkimage(const std::string& args) {
  // Callers may redirect stdout themselves; the first redirection wins.
  std::string cmd = std::string(COFFER_MKIMAGE) + " " + args + " 2>/dev/null";
  if (args.find('>') == std::string::npos) cmd += " >/dev/null";
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(MkimageTest, CommandLineExitCodes) {
  EXPECT_EQ(RunMkimage("--help"), 0);
  EXPECT_EQ(RunMkimage(""), 2);
  EXPECT_EQ(RunMkimage("frobnicate"), 2);
  EXPECT_EQ(RunMkimage("create " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("create --size 12Q " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("create --size 1M --seed -3 " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("create --size 1M --bogus " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("create --size 1M"), 2);
  EXPECT_EQ(RunMkimage("create --size 1M " + Path("no/such/dir/x")), 1);
  EXPECT_EQ(RunMkimage(Path("x") + " --seed=9 --sparse create --size=1M"), 2);
  EXPECT_EQ(RunMkimage("create " + Path("x") + " --seed=9 --sparse --size=1M"), 0);
  EXPECT_EQ(fs::file_size(Path("x")), kMiB);
  EXPECT_EQ(RunMkimage("mutate --percent 0 " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("mutate --percent 101 " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("mutate --percent abc " + Path("x")), 2);
  EXPECT_EQ(RunMkimage("mutate --percent 1 " + Path("missing")), 1);
  EXPECT_EQ(RunMkimage("mutate --percent 0.5 " + Path("x")), 0);
}

TEST_F(MkimageTest, ListPrintsExtentsThatCoverTheImage) {
  ASSERT_EQ(RunMkimage("create --size 3M --list " + Path("x") + " >" + Path("list")), 0);
  std::ifstream in(Path("list"));
  uint64_t offset, length, at = 0;
  std::string kind;
  size_t lines = 0;
  while (in >> offset >> length >> kind) {
    EXPECT_EQ(offset, at);
    at += length;
    ++lines;
  }
  EXPECT_EQ(at, 3 * kMiB);
  EXPECT_GT(lines, 4u);
  ASSERT_EQ(RunMkimage("mutate --percent 10 --list " + Path("x") + " >" + Path("list")), 0);
  std::ifstream in2(Path("list"));
  std::string where;
  uint64_t changed = 0;
  while (in2 >> offset >> length >> kind >> where) changed += length;
  EXPECT_EQ(changed, 77u * kBlock);  // 10 % of 768 blocks
}

}  // namespace
}  // namespace coffer::tools
