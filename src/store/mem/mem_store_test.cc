#include "store/mem/mem_store.h"

#include "store/store_conformance.h"

namespace coffer {
namespace {

INSTANTIATE_TEST_SUITE_P(Mem, StoreConformanceTest,
                         testing::Values(StoreFactory{
                             "mem", [] { return std::unique_ptr<ObjectStore>(new MemStore()); }}),
                         StoreFactoryName);

}  // namespace
}  // namespace coffer
