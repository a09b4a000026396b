// The ObjectStore conformance suite: every store and every wrapper must pass
// it. A test file instantiates it with a factory that returns a fresh, empty
// store each time:
//
//   INSTANTIATE_TEST_SUITE_P(Local, StoreConformanceTest,
//       testing::Values(StoreFactory{"local", [] { return ...; }}),
//       StoreFactoryName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/object_store.h"

namespace coffer {

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<ObjectStore>()> make;
};

// Prints the store's name in test output instead of the factory's bytes.
inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

inline std::string StoreFactoryName(const testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class StoreConformanceTest : public testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace coffer
