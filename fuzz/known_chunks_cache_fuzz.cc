// The known-chunks cache file (engine/known_chunks.h): a local file, but one
// any process of the user (or a damaged disk) may have written; a backup
// trusts the ids of a file it accepts, so it must accept only intact ones.
//
// Input: target uuid (16) | GC generation (u64 LE) | the file.
#include "engine/known_chunks.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static fuzz::MemFile file;
  fuzz::Input in(data, size);
  Uuid target_id;
  uint8_t gen[8];
  if (!in.TakeUuid(&target_id) || !in.Take(8, gen)) return 0;
  KnownChunkCache cache(file.Write(in.rest()));
  const CacheState state = cache.Load(target_id, GetLe64(gen));
  if (state != CacheState::kValid && cache.size() != 0) std::abort();
  // A valid file holds sorted, unique ids: every one is found.
  for (const ChunkId& id : cache.ids()) {
    if (!cache.Contains(id)) std::abort();
  }
  return 0;
}
