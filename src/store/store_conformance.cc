// The conformance tests themselves; see store_conformance.h.
#include "store/store_conformance.h"

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "base/text.h"

namespace coffer {
namespace {

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 31 + (i >> 8));
  return b;
}

std::set<std::string> Keys(ObjectStore& s, std::string_view prefix) {
  std::set<std::string> keys;
  auto st = s.List(prefix, [&](const ObjectInfo& info) -> Status {
    keys.insert(info.key);
    return {};
  });
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return keys;
}

TEST_P(StoreConformanceTest, PutThenGetReturnsTheSameBytes) {
  for (size_t size : {size_t(0), size_t(1), size_t(4095), size_t(1 << 20) + 1}) {
    Bytes data = Pattern(size, uint8_t(size));
    std::string key = "chunks/ab/obj" + std::to_string(size);
    ASSERT_TRUE(store_->Put(key, data).has_value());
    Buffer got;
    auto st = store_->Get(key, &got);
    ASSERT_TRUE(st.has_value()) << st.error().message();
    ASSERT_EQ(got.size(), size);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), got.data()));
  }
}

TEST_P(StoreConformanceTest, PutReplacesAnExistingObject) {
  ASSERT_TRUE(store_->Put("config", Pattern(100, 1)).has_value());
  Bytes second = Pattern(50, 2);
  ASSERT_TRUE(store_->Put("config", second).has_value());
  auto got = GetAll(*store_, "config");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, second);
}

TEST_P(StoreConformanceTest, MissingObjectIsNotFound) {
  Buffer got;
  auto st = store_->Get("manifests/nope", &got);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  auto head = store_->Head("manifests/nope");
  ASSERT_FALSE(head.has_value());
  EXPECT_EQ(head.error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformanceTest, HeadReportsSizeAndRecentModTime) {
  ASSERT_TRUE(store_->Put("keys/slot", Pattern(777, 3)).has_value());
  auto head = store_->Head("keys/slot");
  ASSERT_TRUE(head.has_value()) << head.error().message();
  EXPECT_EQ(head->size, 777u);
  EXPECT_EQ(head->key, "keys/slot");
  EXPECT_LE(std::abs(head->mtime - UnixNow()), 300);
}

TEST_P(StoreConformanceTest, RangedGetReturnsTheRangeAndCutsAtTheEnd) {
  Bytes data = Pattern(1000, 4);
  ASSERT_TRUE(store_->Put("manifests/m", data).has_value());
  Buffer got;
  ASSERT_TRUE(store_->Get("manifests/m", &got, ByteRange{100, 200}).has_value());
  ASSERT_EQ(got.size(), 200u);
  EXPECT_TRUE(std::equal(data.begin() + 100, data.begin() + 300, got.data()));
  ASSERT_TRUE(store_->Get("manifests/m", &got, ByteRange{900, 500}).has_value());
  ASSERT_EQ(got.size(), 100u);
  EXPECT_TRUE(std::equal(data.begin() + 900, data.end(), got.data()));
  auto past = store_->Get("manifests/m", &got, ByteRange{1000, 10});
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(past.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ListFiltersByPrefixAndReportsSizes) {
  ASSERT_TRUE(store_->Put("chunks/aa/aa01", Pattern(10, 1)).has_value());
  ASSERT_TRUE(store_->Put("chunks/aa/aa02", Pattern(20, 2)).has_value());
  ASSERT_TRUE(store_->Put("chunks/bb/bb01", Pattern(30, 3)).has_value());
  ASSERT_TRUE(store_->Put("manifests/x", Pattern(40, 4)).has_value());
  ASSERT_TRUE(store_->Put("config", Pattern(5, 5)).has_value());

  EXPECT_EQ(Keys(*store_, "chunks/"),
            (std::set<std::string>{"chunks/aa/aa01", "chunks/aa/aa02", "chunks/bb/bb01"}));
  EXPECT_EQ(Keys(*store_, "chunks/aa/"),
            (std::set<std::string>{"chunks/aa/aa01", "chunks/aa/aa02"}));
  EXPECT_EQ(Keys(*store_, "chunks/aa/aa0"),
            (std::set<std::string>{"chunks/aa/aa01", "chunks/aa/aa02"}));
  EXPECT_EQ(Keys(*store_, "manifests/"), (std::set<std::string>{"manifests/x"}));
  EXPECT_EQ(Keys(*store_, "locks/"), (std::set<std::string>{}));
  EXPECT_EQ(Keys(*store_, "").size(), 5u);

  uint64_t total = 0;
  ASSERT_TRUE(store_
                  ->List("chunks/",
                         [&](const ObjectInfo& i) -> Status {
                           total += i.size;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(total, 60u);
}

TEST_P(StoreConformanceTest, ListStopsAtTheCallbacksError) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Put("locks/l" + std::to_string(i), Pattern(1, 1)).has_value());
  }
  int calls = 0;
  auto st = store_->List("locks/", [&](const ObjectInfo&) -> Status {
    ++calls;
    return Cancelled("enough");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreConformanceTest, ListPagesThroughManyObjects) {
  // More than one S3 page (1000 keys).
  std::set<std::string> want;
  for (int i = 0; i < 1100; ++i) {
    std::string key = "chunks/" + std::to_string(i % 7) + "/k" + std::to_string(i);
    ASSERT_TRUE(store_->Put(key, Pattern(1, uint8_t(i))).has_value());
    want.insert(key);
  }
  EXPECT_EQ(Keys(*store_, "chunks/"), want);
}

TEST_P(StoreConformanceTest, DeleteRemovesAndIsIdempotent) {
  ASSERT_TRUE(store_->Put("manifests/a", Pattern(3, 1)).has_value());
  ASSERT_TRUE(store_->Delete("manifests/a").has_value());
  EXPECT_FALSE(store_->Head("manifests/a").has_value());
  EXPECT_TRUE(store_->Delete("manifests/a").has_value());
  EXPECT_TRUE(Keys(*store_, "manifests/").empty());
}

TEST_P(StoreConformanceTest, DeleteManyRemovesEveryNamedObject) {
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {
    keys.push_back("chunks/cc/d" + std::to_string(i));
    ASSERT_TRUE(store_->Put(keys.back(), Pattern(4, uint8_t(i))).has_value());
  }
  ASSERT_TRUE(store_->Put("chunks/cc/keep", Pattern(4, 9)).has_value());
  keys.push_back("chunks/cc/never-existed");
  ASSERT_TRUE(store_->DeleteMany(keys).has_value());
  EXPECT_EQ(Keys(*store_, "chunks/"), (std::set<std::string>{"chunks/cc/keep"}));
}

TEST_P(StoreConformanceTest, ConcurrentPutsOfOneKeyLeaveOneWholeObject) {
  // Readers must never see a mix of two writers' bytes.
  std::vector<Bytes> versions;
  for (int i = 0; i < 4; ++i) versions.push_back(Pattern(256 * 1024, uint8_t(17 * i + 1)));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        EXPECT_TRUE(store_->Put("chunks/ee/same", versions[i]).has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto got = GetAll(*store_, "chunks/ee/same");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(std::find(versions.begin(), versions.end(), *got) != versions.end());
  EXPECT_EQ(Keys(*store_, "chunks/ee/"), (std::set<std::string>{"chunks/ee/same"}));
}

TEST_P(StoreConformanceTest, ParallelPutsOfDistinctKeysAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string key = "chunks/p" + std::to_string(t) + "/o" + std::to_string(i);
        EXPECT_TRUE(store_->Put(key, Pattern(1000 + i, uint8_t(t))).has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Keys(*store_, "chunks/").size(), 160u);
}

TEST_P(StoreConformanceTest, DeferredPutsAreWholeAfterFlush) {
  // From several threads, more than a local batch holds, so some are
  // published by PutDeferred's own flushes and the rest by Flush.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 80; ++i) {
        std::string key = "chunks/d" + std::to_string(t % 2) + "/o" + std::to_string(t * 100 + i);
        auto st = store_->PutDeferred(key, Pattern(100 + i, uint8_t(t)));
        EXPECT_TRUE(st.has_value()) << st.error().message();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto st = store_->Flush();
  ASSERT_TRUE(st.has_value()) << st.error().message();
  EXPECT_EQ(Keys(*store_, "chunks/").size(), 320u);
  auto got = GetAll(*store_, "chunks/d1/o379");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, Pattern(179, 3));
  // A deferred put replaces an object like Put does; an empty Flush is fine.
  ASSERT_TRUE(store_->PutDeferred("chunks/d1/o379", Pattern(7, 9)).has_value());
  ASSERT_TRUE(store_->Flush().has_value());
  ASSERT_TRUE(store_->Flush().has_value());
  EXPECT_EQ(*GetAll(*store_, "chunks/d1/o379"), Pattern(7, 9));
}

}  // namespace
}  // namespace coffer
