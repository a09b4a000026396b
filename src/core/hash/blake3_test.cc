#include "core/hash/blake3.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace coffer {
namespace {

constexpr Blake3Impl kAllImpls[] = {Blake3Impl::kPortable, Blake3Impl::kSse41, Blake3Impl::kAvx2,
                                    Blake3Impl::kAvx512};

Bytes PatternInput(size_t len) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = uint8_t(i % 251);
  return b;
}

Bytes RandomBytes(size_t len, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(len);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

std::string Hex(const uint8_t* p, size_t n) { return HexEncode(ByteView(p, n)); }

// Feeds `data` to `h` in pieces of `split` bytes; split 0 means random
// pieces of 1 byte to 20 KiB.
void FeedInPieces(Blake3& h, ByteView data, size_t split, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = split != 0 ? split : 1 + rng() % (20 << 10);
    n = std::min(n, data.size() - pos);
    h.Update(data.data() + pos, n);
    pos += n;
  }
}

std::string Output(const Blake3& h, size_t len) {
  std::vector<uint8_t> out(len);
  h.Finalize(out.data(), len);
  return Hex(out.data(), len);
}

struct Vectors {
  std::string key;
  std::string context;
  nlohmann::json cases;
};

const Vectors& LoadVectors() {
  static const Vectors v = [] {
    std::ifstream f(COFFER_BLAKE3_VECTORS);
    EXPECT_TRUE(f.good()) << COFFER_BLAKE3_VECTORS;
    nlohmann::json j = nlohmann::json::parse(f);
    return Vectors{j["key"], j["context_string"], j["cases"]};
  }();
  return v;
}

const uint8_t* KeyBytes() { return reinterpret_cast<const uint8_t*>(LoadVectors().key.data()); }

// Each test runs once per implementation and is skipped where the CPU
// cannot run it.
class Blake3ImplTest : public testing::TestWithParam<Blake3Impl> {
 protected:
  void SetUp() override {
    if (!Blake3ForceImpl(GetParam())) GTEST_SKIP() << "CPU lacks " << Blake3ImplName(GetParam());
    ASSERT_EQ(Blake3ActiveImpl(), GetParam());
  }
  void TearDown() override { Blake3ResetImpl(); }
};

TEST_P(Blake3ImplTest, OfficialVectorsOneShot) {
  const Vectors& v = LoadVectors();
  ASSERT_EQ(v.cases.size(), 35u);
  for (const auto& c : v.cases) {
    size_t len = c["input_len"];
    SCOPED_TRACE("input_len " + std::to_string(len));
    Bytes input = PatternInput(len);
    std::string hash = c["hash"], keyed = c["keyed_hash"], derive = c["derive_key"];
    uint8_t out[kBlake3OutLen];

    Blake3Hash(input, out);
    EXPECT_EQ(Hex(out, 32), hash.substr(0, 64));
    Blake3KeyedHash(KeyBytes(), input, out);
    EXPECT_EQ(Hex(out, 32), keyed.substr(0, 64));
    Blake3DeriveKey(v.context, input, out, 32);
    EXPECT_EQ(Hex(out, 32), derive.substr(0, 64));

    // The full extended output.
    std::vector<uint8_t> xof(derive.size() / 2);
    Blake3DeriveKey(v.context, input, xof.data(), xof.size());
    EXPECT_EQ(Hex(xof.data(), xof.size()), derive);
    Blake3 h;
    h.Update(input.data(), input.size());
    EXPECT_EQ(Output(h, hash.size() / 2), hash);
    Blake3 k(KeyBytes());
    k.Update(input.data(), input.size());
    EXPECT_EQ(Output(k, keyed.size() / 2), keyed);
  }
}

TEST_P(Blake3ImplTest, OfficialVectorsInEverySplit) {
  const Vectors& v = LoadVectors();
  const size_t kSplits[] = {1, 63, 64, 65, 1023, 1024, 1025, 2048, 4096, 0};
  for (const auto& c : v.cases) {
    size_t len = c["input_len"];
    Bytes input = PatternInput(len);
    std::string hash = c["hash"], keyed = c["keyed_hash"], derive = c["derive_key"];
    for (size_t split : kSplits) {
      SCOPED_TRACE("input_len " + std::to_string(len) + " split " + std::to_string(split));
      Blake3 h;
      FeedInPieces(h, input, split);
      EXPECT_EQ(Output(h, hash.size() / 2), hash);
      Blake3 k(KeyBytes());
      FeedInPieces(k, input, split);
      EXPECT_EQ(Output(k, 32), keyed.substr(0, 64));
      Blake3 d = Blake3::ForDeriveKey(v.context);
      FeedInPieces(d, input, split);
      EXPECT_EQ(Output(d, 32), derive.substr(0, 64));
    }
  }
}

// Digests of i % 251 inputs beyond the official vectors' 100 KiB, so that
// subtrees larger than one kernel batch are checked against an independent
// implementation (b3sum 1.x).
TEST_P(Blake3ImplTest, LargeInputsMatchReferenceDigests) {
  struct Case {
    size_t len;
    const char* hex;
  };
  const Case kCases[] = {
      {308225, "9d5dd0ccb156cfe56907e96bc6df3c0ab9bc908c1b085e5240866f4f3f4fbdff"},
      {1 << 20, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"},
      {2 << 20, "96fbba37478c16b7614c890b26832f67b541cf14e69ab8ebf0c739818588c9f1"},
      {5244114,
       "f1ab41e888b700e0e128c9753b27a517f28ebd0d5cb2ede1b6e15fc54c3125e2b104c450d075a00dc625"
       "9f97728b1660ad124674aaee95a0a468cde42225be5612ce9c733faef18a58f6934c20e3eef808bbc919"
       "19f455bec0b5713e5a04da8ecfe0bbd9"},
  };
  for (const Case& c : kCases) {
    Bytes input = PatternInput(c.len);
    std::string want = c.hex;
    for (size_t split : {size_t{0}, size_t{1} << 20, size_t{65536 + 1024}, size_t{100000}}) {
      SCOPED_TRACE("len " + std::to_string(c.len) + " split " + std::to_string(split));
      Blake3 h;
      if (split == 0) {
        h.Update(input.data(), input.size());
      } else {
        FeedInPieces(h, input, split);
      }
      EXPECT_EQ(Output(h, want.size() / 2), want);
    }
  }
}

TEST_P(Blake3ImplTest, LargeRandomInputsAgreeWithPortable) {
  Bytes input = RandomBytes((5 << 20) + 777, 42);
  uint8_t key[kBlake3KeyLen];
  for (size_t i = 0; i < sizeof(key); ++i) key[i] = uint8_t(3 * i + 1);

  std::string want_hash, want_keyed, want_derive;
  {
    ASSERT_TRUE(Blake3ForceImpl(Blake3Impl::kPortable));
    Blake3 h;
    h.Update(input.data(), input.size());
    want_hash = Output(h, 200);
    Blake3 k(key);
    k.Update(input.data(), input.size());
    want_keyed = Output(k, 32);
    Blake3 d = Blake3::ForDeriveKey("coffer test context");
    d.Update(input.data(), input.size());
    want_derive = Output(d, 32);
    ASSERT_TRUE(Blake3ForceImpl(GetParam()));
  }
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Blake3 h;
    FeedInPieces(h, input, 0, seed);
    EXPECT_EQ(Output(h, 200), want_hash);
    Blake3 k(key);
    FeedInPieces(k, input, 0, seed + 100);
    EXPECT_EQ(Output(k, 32), want_keyed);
    Blake3 d = Blake3::ForDeriveKey("coffer test context");
    FeedInPieces(d, input, 0, seed + 200);
    EXPECT_EQ(Output(d, 32), want_derive);
  }
  // Every prefix length around chunk and batch boundaries, in one Update.
  for (size_t len : {size_t{1024 * 16}, size_t{1024 * 16 + 1}, size_t{1024 * 17 - 1},
                     size_t{1024 * 128}, size_t{1024 * 129 + 5}, size_t{1024 * 256},
                     size_t{1024 * 255}, size_t{1024 * 1000 + 999}}) {
    ASSERT_TRUE(Blake3ForceImpl(Blake3Impl::kPortable));
    Blake3 ref;
    ref.Update(input.data(), len);
    std::string want = Output(ref, 32);
    ASSERT_TRUE(Blake3ForceImpl(GetParam()));
    Blake3 h;
    h.Update(input.data(), len);
    EXPECT_EQ(Output(h, 32), want) << "len " << len;
  }
}

TEST_P(Blake3ImplTest, FinalizeSeekReadsTheSameStream) {
  for (size_t len : {size_t{0}, size_t{100}, size_t{1024}, size_t{5000}, size_t{1 << 17}}) {
    Bytes input = RandomBytes(len, 7);
    Blake3 h;
    h.Update(input.data(), input.size());
    std::vector<uint8_t> stream(1000);
    h.Finalize(stream.data(), stream.size());
    for (uint64_t seek : {0, 1, 31, 32, 63, 64, 65, 127, 128, 500, 937}) {
      for (size_t n :
           {size_t{1}, size_t{32}, size_t{63}, size_t{64}, size_t{65}, size_t{1000 - seek}}) {
        if (seek + n > stream.size()) continue;
        std::vector<uint8_t> part(n);
        h.FinalizeSeek(seek, part.data(), n);
        EXPECT_EQ(Hex(part.data(), n), Hex(stream.data() + seek, n))
            << "len " << len << " seek " << seek << " n " << n;
      }
    }
    // Far out in the stream: the counter's upper half is used.
    std::vector<uint8_t> far(80), far2(80);
    h.FinalizeSeek(uint64_t{1} << 40, far.data(), far.size());
    h.FinalizeSeek((uint64_t{1} << 40) + 16, far2.data(), 64);
    EXPECT_EQ(Hex(far.data() + 16, 64), Hex(far2.data(), 64));
  }
}

TEST_P(Blake3ImplTest, FinalizeLeavesTheStateAlone) {
  Bytes input = RandomBytes(300000, 9);
  uint8_t want[kBlake3OutLen];
  Blake3Hash(input, want);
  Blake3 h;
  h.Update(input.data(), 150000);
  uint8_t mid[kBlake3OutLen], mid_again[kBlake3OutLen];
  h.Finalize(mid, sizeof(mid));
  h.Finalize(mid_again, sizeof(mid_again));
  EXPECT_EQ(Hex(mid, 32), Hex(mid_again, 32));
  h.Update(input.data() + 150000, input.size() - 150000);
  EXPECT_EQ(Output(h, 32), Hex(want, 32));
}

TEST_P(Blake3ImplTest, ResetKeepsModeAndKey) {
  Bytes input = PatternInput(5000);
  Blake3 k(KeyBytes());
  k.Update("something else", 14);
  k.Reset();
  k.Update(input.data(), input.size());
  Blake3 fresh(KeyBytes());
  fresh.Update(input.data(), input.size());
  EXPECT_EQ(Output(k, 32), Output(fresh, 32));

  Blake3 d = Blake3::ForDeriveKey("ctx");
  d.Update(input.data(), 3000);
  d.Reset();
  uint8_t want[32];
  Blake3DeriveKey("ctx", ByteView(), want, 32);
  EXPECT_EQ(Output(d, 32), Hex(want, 32));
}

INSTANTIATE_TEST_SUITE_P(AllImpls, Blake3ImplTest, testing::ValuesIn(kAllImpls),
                         [](const testing::TestParamInfo<Blake3Impl>& info) {
                           return std::string(Blake3ImplName(info.param));
                         });

TEST(Blake3DispatchTest, PortableIsAlwaysAvailable) {
  EXPECT_TRUE(Blake3ForceImpl(Blake3Impl::kPortable));
  EXPECT_EQ(Blake3ActiveImpl(), Blake3Impl::kPortable);
  Blake3ResetImpl();
}

TEST(Blake3DispatchTest, ForcingAnUnknownImplChangesNothing) {
  Blake3Impl before = Blake3ActiveImpl();
  EXPECT_FALSE(Blake3ForceImpl(static_cast<Blake3Impl>(42)));
  EXPECT_EQ(Blake3ActiveImpl(), before);
}

TEST(Blake3DispatchTest, ResetReturnsToTheDefault) {
  Blake3Impl initial = Blake3ActiveImpl();
  ASSERT_TRUE(Blake3ForceImpl(Blake3Impl::kPortable));
  Blake3ResetImpl();
  EXPECT_EQ(Blake3ActiveImpl(), initial);
  EXPECT_STREQ(Blake3ImplName(Blake3Impl::kAvx512), "avx512");
}

// The variable is read once, at first use, so the check runs in a freshly
// started copy of this binary ("threadsafe" death tests re-execute it).
TEST(Blake3DispatchDeathTest, EnvironmentForcesThePortableKernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("COFFER_BLAKE3_PORTABLE", "1", 1);
  EXPECT_EXIT(std::exit(Blake3ActiveImpl() == Blake3Impl::kPortable ? 0 : 1),
              testing::ExitedWithCode(0), "");
  unsetenv("COFFER_BLAKE3_PORTABLE");
}

}  // namespace
}  // namespace coffer
