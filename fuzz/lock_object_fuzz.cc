// Lock objects ("locks/<uuid>", engine/lock.h): every CLI command and agent
// job lists a target's locks and judges each one (live, stale, whose) before
// it works, so a lock object anyone with write access to the bucket left is
// read by all of them.
//
// Input: the object, stored as a lock in an in-memory store; ListLocks reads
// and judges it (signal 0 and /proc only look at the process it names),
// DescribeLock words it.
#include "engine/lock.h"
#include "fuzz/fuzz_util.h"
#include "store/mem/mem_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  MemStore store;
  const std::string key = std::string(kLockPrefix) + "5f0c6f0e-8a7c-4d2b-9a51-0d6d3c1f2e4a";
  if (!store.Put(key, ByteView(data, size))) std::abort();
  auto locks = ListLocks(store);
  if (!locks || locks->size() != 1 || (*locks)[0].key != key) std::abort();
  (void)DescribeLock((*locks)[0]);
  return 0;
}
