#include "engine/restore.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/format/chunk_object.h"

namespace coffer {
namespace {

struct ChunkUse {
  ChunkId id;
  uint32_t length;
  std::vector<uint64_t> offsets;
};

}  // namespace

Result<RestoreResult> RunRestore(Repository& repo, const Manifest& manifest, VolumeWriter& dest,
                                 const RestoreOptions& options) {
  auto started = std::chrono::steady_clock::now();
  RestoreResult result;
  result.bytes = manifest.summary.source_size;
  if (options.progress) options.progress->total = result.bytes;

  // Distinct chunks in order of first use, each with every offset it fills.
  std::vector<ChunkUse> uses;
  std::unordered_map<ChunkId, size_t, ChunkIdHash> index;
  uint64_t offset = 0;
  for (const ManifestEntry& e : manifest.entries) {
    if (e.zero) {
      COFFER_RETURN_IF_ERROR(dest.WriteZeros(offset, e.length));
      result.zero_bytes += e.length;
      if (options.progress) options.progress->done += e.length;
    } else {
      auto [it, fresh] = index.try_emplace(e.id, uses.size());
      if (fresh) uses.push_back(ChunkUse{e.id, e.length, {}});
      ChunkUse& use = uses[it->second];
      if (use.length != e.length) {
        return Corruption("manifest " + manifest.summary.backup_id.ToString() + " gives chunk " +
                          HexEncode(e.id) + " two lengths");
      }
      use.offsets.push_back(offset);
    }
    offset += e.length;
  }
  result.chunks_fetched = uses.size();

  unsigned threads =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency()) + 2;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<Error> error;
  auto fail = [&](Error e) {
    std::lock_guard lock(error_mu);
    if (!error) error = std::move(e);
    failed = true;
  };
  const size_t max_plain = manifest.summary.chunker.max_size;
  // Chunks are fetched and verified in parallel but written one at a time:
  // the kernel serializes buffered writes to one file on its inode lock
  // anyway, and threads contending for it spin (measured: a fifth of the
  // restore's CPU); here a waiting thread sleeps instead.
  std::mutex write_mu;

  auto work = [&] {
    Buffer object, plain, scratch;
    while (!failed) {
      if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
        fail(Error(ErrorCode::kCancelled, "the restore into " + dest.name() + " was cancelled"));
        return;
      }
      size_t i = next++;
      if (i >= uses.size()) return;
      const ChunkUse& use = uses[i];
      std::string where = "chunk " + HexEncode(use.id) + " at volume offset " +
                          std::to_string(use.offsets.front()) + " of backup " +
                          manifest.summary.backup_id.ToString();
      auto got = repo.store().Get(ChunkKey(use.id), &object);
      if (!got) {
        if (got.error().code() == ErrorCode::kNotFound) {
          fail(Error(ErrorCode::kCorruption, where + " is missing from the target"));
        } else {
          fail(got.error().WithContext("reading " + where));
        }
        return;
      }
      if (auto st = OpenChunk(repo.keys(), use.id, object.view(), max_plain, &plain, &scratch);
          !st) {
        fail(Error(ErrorCode::kCorruption, where + ": " + st.error().message()));
        return;
      }
      if (plain.size() != use.length) {
        fail(Error(ErrorCode::kCorruption, where + ": holds " + std::to_string(plain.size()) +
                                               " bytes, the manifest says " +
                                               std::to_string(use.length)));
        return;
      }
      std::lock_guard lock(write_mu);
      for (uint64_t off : use.offsets) {
        if (auto st = dest.WriteAt(off, plain.view()); !st) {
          fail(st.error());
          return;
        }
        if (options.progress) options.progress->done += use.length;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) return std::unexpected(*error);
  COFFER_RETURN_IF_ERROR(dest.Commit());
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace coffer
