// The target's config object (core/format/config.h): parsed without the key
// before a passphrase is asked for (an unknown format version is refused
// first), then its MAC checked.
//
// Input: target key (32) | object. The seed corpus's real config carries
// the key it was written with.
#include "core/format/config.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  fuzz::Input in(data, size);
  TargetKeys keys;
  if (!in.TakeKeys(&keys)) return 0;
  auto config = ParseConfig(in.rest());
  if (config && VerifyConfig(in.rest(), keys)) {
    // An authenticated config is one this build wrote: it reads back the same.
    auto again = ParseConfig(EncodeConfig(*config, keys));
    if (!again || again->target_id != config->target_id ||
        again->segment_size != config->segment_size) {
      std::abort();
    }
  }
  return 0;
}
