// The summary cache file (engine/known_chunks.h, SummaryCache): the sealed
// summaries of a target's backups kept locally. A damaged or foreign file
// must read as an empty cache, never as a crash.
//
// Input: target uuid (16) | the file.
#include "engine/known_chunks.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static fuzz::MemFile file;
  fuzz::Input in(data, size);
  Uuid target_id;
  if (!in.TakeUuid(&target_id)) return 0;
  SummaryCache cache(file.Write(in.rest()));
  if (!cache.Load(target_id) && cache.size() != 0) std::abort();
  cache.Retain({});
  if (cache.size() != 0) std::abort();
  return 0;
}
