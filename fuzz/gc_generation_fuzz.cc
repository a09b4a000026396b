// The target's "gc" object (engine/repository.h, ParseGcGeneration): the GC
// generation every backup, cache and agent job reads before trusting what
// it knows of the target's chunks.
//
// Input: the object.
#include <charconv>

#include "engine/repository.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  auto gen = ParseGcGeneration(ByteView(data, size));
  if (gen) {
    // What RaiseGcGeneration writes reads back as the same number.
    const std::string text = std::to_string(*gen) + "\n";
    auto again = ParseGcGeneration(AsBytes(text));
    if (!again || *again != *gen) std::abort();
  }
  return 0;
}
