// Manifest objects (core/format/manifest.h) as a store returns them: the
// summary read alone from a prefix (ls, parent lookup, the summary cache)
// and the whole object (restore, GC, check, index rebuild).
//
// Input: target key (32) | backup uuid (16) | object. Real manifests in the
// seed corpus carry the key and backup id they were sealed with, so they
// open; everything past their tags is fuzzed by manifest_parts_fuzz.
#include "core/format/manifest.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  fuzz::Input in(data, size);
  TargetKeys keys;
  Uuid backup_id;
  if (!in.TakeKeys(&keys) || !in.TakeUuid(&backup_id)) return 0;
  const ByteView object = in.rest();

  // A summary read asks for the first kManifestSummaryMaxRead bytes, then
  // for as many as the header declares.
  const size_t prefix =
      ManifestSummaryPrefixLength(object.first(std::min(object.size(), kManifestSummaryMaxRead)));
  if (prefix > object.size()) std::abort();
  auto summary = OpenManifestSummary(keys, backup_id, object.first(prefix));
  auto manifest = OpenManifest(keys, backup_id, object);
  if (manifest) {
    if (!summary || manifest->summary.backup_id != backup_id ||
        manifest->entries.size() != manifest->summary.chunk_count) {
      std::abort();
    }
  }
  return 0;
}
