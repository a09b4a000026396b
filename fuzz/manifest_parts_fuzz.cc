// The manifest decoder past its tags (core/format/manifest.h): the summary's
// fields and the chunk list's entries, as a writer holding the target key
// (an agent, a process that went wrong) could have sealed them.
//
// Input: u32 summary length (LE) | summary plaintext | chunk list plaintext
// (the entries before compression). The fuzzer compresses the list, seals
// both parts under a fixed key and the backup id the summary starts with,
// and opens the object as restore and GC do. Seeds are the parts of real
// manifests (fuzz/make_seeds.sh).
#include "core/compress/zstd_codec.h"
#include "core/format/manifest.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/manifest_parts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static const TargetKeys keys = [] {
    uint8_t tk[kKeyLen] = {};
    return TargetKeys::Derive(SecretKey(tk));
  }();
  fuzz::Input in(data, size);
  uint8_t len_bytes[4];
  if (!in.Take(4, len_bytes)) return 0;
  const size_t summary_len = GetLe32(len_bytes);
  if (summary_len > in.rest().size()) return 0;
  fuzz::ManifestParts parts;
  parts.summary.assign(in.rest().begin(), in.rest().begin() + ptrdiff_t(summary_len));
  const ByteView list = in.rest().subspan(summary_len);
  parts.chunk_list = CompressFrame(list, 1);
  Uuid backup_id;
  fuzz::Input summary(parts.summary.data(), parts.summary.size());
  summary.TakeUuid(&backup_id);

  const Bytes object = fuzz::SealManifestParts(keys, backup_id, parts);
  auto s = OpenManifestSummary(keys, backup_id, object);
  auto m = OpenManifest(keys, backup_id, object);
  if (m) {
    // What the decoder promises: the entries add up to the source size and
    // match the count, none longer than the chunker's maximum.
    uint64_t total = 0;
    for (const ManifestEntry& e : m->entries) {
      if (e.length == 0 || e.length > m->summary.chunker.max_size) std::abort();
      total += e.length;
    }
    if (!s || total != m->summary.source_size || m->entries.size() != m->summary.chunk_count) {
      std::abort();
    }
  }
  return 0;
}
