#include "store/metrics/metrics_store.h"

#include "store/mem/mem_store.h"
#include "store/store_conformance.h"

namespace coffer {
namespace {

INSTANTIATE_TEST_SUITE_P(MetricsOverMem, StoreConformanceTest,
                         testing::Values(StoreFactory{"metrics_mem",
                                                      [] {
                                                        return std::make_unique<MetricsStore>(
                                                            std::make_unique<MemStore>(), nullptr);
                                                      }}),
                         StoreFactoryName);

TEST(MetricsStoreTest, CountsCallsByKindAndBytes) {
  auto metrics = std::make_shared<StoreMetrics>();
  MetricsStore store(std::make_unique<MemStore>(), metrics);
  ASSERT_TRUE(store.Put("a", Bytes(10, 1)).has_value());
  ASSERT_TRUE(store.Put("b", Bytes(5, 1)).has_value());
  Buffer buf;
  ASSERT_TRUE(store.Get("a", &buf).has_value());
  EXPECT_FALSE(store.Get("missing", &buf).has_value());
  ASSERT_TRUE(store.Head("a").has_value());
  ASSERT_TRUE(store.List("", [](const ObjectInfo&) -> Status { return {}; }).has_value());
  ASSERT_TRUE(store.Delete("a").has_value());
  std::vector<std::string> keys{"b"};
  ASSERT_TRUE(store.DeleteMany(keys).has_value());

  EXPECT_EQ(
      metrics->RequestCounts(),
      (std::map<std::string, uint64_t>{
          {"put", 2}, {"get", 2}, {"head", 1}, {"list", 1}, {"delete", 1}, {"delete_many", 1}}));
  EXPECT_EQ(metrics->total_requests(), 8u);
  EXPECT_EQ(metrics->failures(), 1u);
  EXPECT_EQ(metrics->bytes_uploaded(), 15u);
  EXPECT_EQ(metrics->bytes_downloaded(), 10u);
}

}  // namespace
}  // namespace coffer
