#include <gtest/gtest.h>

#include <random>

#include "core/format/chunk_object.h"
#include "core/format/config.h"
#include "core/format/key_slot.h"
#include "core/format/manifest.h"

namespace coffer {
namespace {

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

Bytes TextBytes(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "line " + std::to_string(i % 100) + " of the log\n";
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

class FormatTest : public testing::Test {
 protected:
  TargetKeys keys_ = TargetKeys::Derive(SecretKey::Random());
};

Bytes Seal(const TargetKeys& keys, ByteView plain, ChunkId* id, bool* compressed) {
  *id = ComputeChunkId(keys, plain);
  Bytes out(plain.size() + kChunkOverhead);
  SealedChunk s = SealChunk(keys, *id, plain, out.data(), 1);
  out.resize(s.size);
  *compressed = s.compressed;
  return out;
}

TEST_F(FormatTest, ChunksRoundTripCompressedOrNot) {
  for (const Bytes& plain : {RandomBytes(100000, 1), TextBytes(100000), RandomBytes(1, 2)}) {
    ChunkId id;
    bool compressed;
    Bytes obj = Seal(keys_, plain, &id, &compressed);
    Buffer out, scratch;
    auto st = OpenChunk(keys_, id, obj, 1 << 20, &out, &scratch);
    ASSERT_TRUE(st.has_value()) << st.error().message();
    ASSERT_EQ(out.size(), plain.size());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), out.data()));
  }
  ChunkId id;
  bool compressed;
  Seal(keys_, TextBytes(100000), &id, &compressed);
  EXPECT_TRUE(compressed);
  Seal(keys_, RandomBytes(100000, 3), &id, &compressed);
  EXPECT_FALSE(compressed);
}

// A restore opens chunks into memory placed at the chunk's offset from a
// block boundary: any destination address gives the same plaintext, and a
// damaged object is refused there too.
TEST_F(FormatTest, ChunksOpenIntoAnyPlaceTheCallerGives) {
  for (const Bytes& plain : {RandomBytes(70000, 5), TextBytes(70000)}) {
    ChunkId id;
    bool compressed;
    Bytes obj = Seal(keys_, plain, &id, &compressed);
    Bytes arena(plain.size() + 4096);
    Buffer scratch;
    for (size_t shift : {size_t(0), size_t(1), size_t(511), size_t(4095)}) {
      auto n = OpenChunkInto(keys_, id, obj, plain.size(), arena.data() + shift, &scratch);
      ASSERT_TRUE(n.has_value()) << n.error().message();
      ASSERT_EQ(*n, plain.size());
      EXPECT_TRUE(std::equal(plain.begin(), plain.end(), arena.data() + shift)) << shift;
    }
    Bytes bad = obj;
    bad[bad.size() / 2] ^= 0x10;
    auto n = OpenChunkInto(keys_, id, bad, plain.size(), arena.data() + 3, &scratch);
    ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error().code(), ErrorCode::kCorruption);
    // A limit below the plaintext's length is refused, not overrun.
    n = OpenChunkInto(keys_, id, obj, plain.size() - 1, arena.data(), &scratch);
    ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error().code(), ErrorCode::kCorruption);
  }
}

TEST_F(FormatTest, SameChunkSameTargetGivesTheSameObject) {
  Bytes plain = TextBytes(5000);
  ChunkId a, b;
  bool c;
  EXPECT_EQ(Seal(keys_, plain, &a, &c), Seal(keys_, plain, &b, &c));
  EXPECT_EQ(a, b);
  TargetKeys other = TargetKeys::Derive(SecretKey::Random());
  ChunkId o;
  EXPECT_NE(Seal(other, plain, &o, &c), Seal(keys_, plain, &a, &c));
  EXPECT_NE(o, a);
}

TEST_F(FormatTest, AnyFlippedBitInAChunkFailsAndReturnsNothing) {
  for (const Bytes& plain : {RandomBytes(300, 4), TextBytes(2000)}) {
    ChunkId id;
    bool compressed;
    Bytes obj = Seal(keys_, plain, &id, &compressed);
    for (size_t bit = 0; bit < obj.size() * 8; ++bit) {
      Bytes bad = obj;
      bad[bit / 8] ^= uint8_t(1 << (bit % 8));
      Buffer out, scratch;
      auto st = OpenChunk(keys_, id, bad, 1 << 20, &out, &scratch);
      ASSERT_FALSE(st.has_value()) << "bit " << bit;
      EXPECT_EQ(st.error().code(), ErrorCode::kCorruption);
      EXPECT_EQ(out.size(), 0u);
    }
  }
}

TEST_F(FormatTest, AChunkUnderAnotherIdIsRejected) {
  ChunkId id;
  bool c;
  Bytes obj = Seal(keys_, TextBytes(1000), &id, &c);
  ChunkId other = id;
  other[5] ^= 1;
  Buffer out, scratch;
  EXPECT_FALSE(OpenChunk(keys_, other, obj, 1 << 20, &out, &scratch).has_value());
  TargetKeys wrong = TargetKeys::Derive(SecretKey::Random());
  EXPECT_FALSE(OpenChunk(wrong, id, obj, 1 << 20, &out, &scratch).has_value());
}

TEST_F(FormatTest, ChunkKeysRoundTrip) {
  ChunkId id = ComputeChunkId(keys_, AsBytes("x"));
  std::string key = ChunkKey(id);
  EXPECT_EQ(key.size(), 7u + 3 + 64);
  EXPECT_EQ(*ParseChunkKey(key), id);
  EXPECT_FALSE(ParseChunkKey("chunks/zz/" + key.substr(10)).has_value());
  EXPECT_FALSE(ParseChunkKey("manifests/x").has_value());
}

Manifest SampleManifest(const Uuid& target) {
  Manifest m;
  m.summary.backup_id = Uuid::Random();
  m.summary.target_id = target;
  m.summary.parent_id = Uuid::Random();
  m.summary.created_at = 1795493058;
  m.summary.volume_id = "vm-17/disk0";
  m.summary.volume_name = "/var/lib/images/vm17.img";
  m.summary.segment_size = 64 << 20;
  uint64_t total = 0;
  for (int i = 0; i < 1000; ++i) {
    ManifestEntry e;
    e.length = uint32_t(262144 + i * 1000);
    e.zero = (i % 10 == 3);
    if (!e.zero) e.id[i % 32] = uint8_t(i);
    total += e.length;
    m.entries.push_back(e);
  }
  m.summary.source_size = total;
  m.summary.chunk_count = m.entries.size();
  m.summary.new_bytes = 12345;
  return m;
}

TEST_F(FormatTest, ManifestRoundTripsAndItsSummaryOpensAlone) {
  Manifest m = SampleManifest(Uuid::Random());
  Bytes obj = SealManifest(keys_, m);
  auto back = OpenManifest(keys_, m.summary.backup_id, obj);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->summary.volume_name, m.summary.volume_name);
  EXPECT_EQ(back->summary.parent_id, m.summary.parent_id);
  EXPECT_EQ(back->summary.source_size, m.summary.source_size);
  EXPECT_EQ(back->summary.new_bytes, 12345u);
  ASSERT_EQ(back->entries.size(), m.entries.size());
  for (size_t i = 0; i < m.entries.size(); ++i) {
    EXPECT_EQ(back->entries[i].length, m.entries[i].length);
    EXPECT_EQ(back->entries[i].zero, m.entries[i].zero);
    if (!m.entries[i].zero) {
      EXPECT_EQ(back->entries[i].id, m.entries[i].id);
    }
  }
  auto summary =
      OpenManifestSummary(keys_, m.summary.backup_id,
                          ByteView(obj).first(std::min(obj.size(), kManifestSummaryMaxRead)));
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->volume_id, "vm-17/disk0");
}

TEST_F(FormatTest, AnyFlippedBitInAManifestFails) {
  Manifest m = SampleManifest(Uuid::Random());
  m.entries.resize(20);
  m.summary.chunk_count = 20;
  m.summary.source_size = 0;
  for (auto& e : m.entries) m.summary.source_size += e.length;
  Bytes obj = SealManifest(keys_, m);
  for (size_t bit = 0; bit < obj.size() * 8; ++bit) {
    Bytes bad = obj;
    bad[bit / 8] ^= uint8_t(1 << (bit % 8));
    auto r = OpenManifest(keys_, m.summary.backup_id, bad);
    ASSERT_FALSE(r.has_value()) << "bit " << bit;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
  }
}

// Found by fuzz/manifest_parts_fuzz: a summary declaring 2^32 chunks over a
// short list made OpenManifest reserve 2^32 entries (160 GiB) before it
// read one. A writer holding the key can seal any count; the reader must
// refuse it, not allocate it.
TEST_F(FormatTest, AManifestCountingMoreChunksThanItsListHoldsIsCorruption) {
  for (uint64_t count : {uint64_t(1) << 32, uint64_t(1) << 20, uint64_t(1001)}) {
    Manifest m = SampleManifest(Uuid::Random());
    m.summary.chunk_count = count;
    auto r = OpenManifest(keys_, m.summary.backup_id, SealManifest(keys_, m));
    ASSERT_FALSE(r.has_value()) << count;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << count;
  }
}

TEST_F(FormatTest, AManifestCannotPassAsAnotherBackup) {
  Manifest m = SampleManifest(Uuid::Random());
  Bytes obj = SealManifest(keys_, m);
  EXPECT_FALSE(OpenManifest(keys_, Uuid::Random(), obj).has_value());
  // Parts of two manifests of the same backup id cannot be spliced.
  Manifest m2 = m;
  m2.summary.volume_name = "other";
  Bytes obj2 = SealManifest(keys_, m2);
  size_t summary_end = 12 + GetLe32(obj.data() + 8);
  Bytes spliced(obj.begin(), obj.begin() + summary_end);
  size_t summary_end2 = 12 + GetLe32(obj2.data() + 8);
  spliced.insert(spliced.end(), obj2.begin() + summary_end2, obj2.end());
  EXPECT_FALSE(OpenManifest(keys_, m.summary.backup_id, spliced).has_value());
}

TEST_F(FormatTest, ConfigRoundTripsAndDetectsTampering) {
  TargetConfig c;
  c.target_id = Uuid::Random();
  c.created_at = 1795493058;
  c.segment_size = 64 << 20;
  Bytes obj = EncodeConfig(c, keys_);
  auto back = ParseConfig(obj);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->target_id, c.target_id);
  EXPECT_EQ(back->chunker.avg_size, c.chunker.avg_size);
  EXPECT_TRUE(VerifyConfig(obj, keys_).has_value());
  for (size_t i = 8; i < obj.size(); ++i) {
    Bytes bad = obj;
    bad[i] ^= 0x40;
    auto parsed = ParseConfig(bad);
    EXPECT_TRUE(!parsed.has_value() || !VerifyConfig(bad, keys_).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(VerifyConfig(obj, TargetKeys::Derive(SecretKey::Random())).has_value());
  Bytes future = obj;
  future[4] = 9;
  auto v = ParseConfig(future);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message().find("version 9"), std::string::npos);
}

TEST_F(FormatTest, KeySlotOpensWithItsPassphraseOnly) {
  Uuid slot = Uuid::Random();
  auto obj = SealKeySlot(slot, keys_.target_key, "correct horse", DefaultArgon2Params(), 1);
  ASSERT_TRUE(obj.has_value());
  auto tk = OpenKeySlot(slot, *obj, "correct horse");
  ASSERT_TRUE(tk.has_value());
  EXPECT_EQ(*tk, keys_.target_key);
  auto wrong = OpenKeySlot(slot, *obj, "wrong horse");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kAuthFailed);
  // Moved to another slot id, the slot no longer opens.
  EXPECT_FALSE(OpenKeySlot(Uuid::Random(), *obj, "correct horse").has_value());
}

}  // namespace
}  // namespace coffer
