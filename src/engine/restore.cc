#include "engine/restore.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/direct_io.h"
#include "core/format/chunk_object.h"
#include "engine/buffer_pool.h"

namespace coffer {
namespace {

struct ChunkUse {
  ChunkId id;
  uint32_t length;
  std::vector<uint64_t> offsets;
};

// Where in a slot a chunk's plaintext goes: as far from a block boundary as
// its first place in the volume, so that the writer can hand the whole
// blocks there to O_DIRECT without copying them.
uint8_t* PlaceIn(uint8_t* slot, const ChunkUse& use) {
  return slot + use.offsets.front() % kDirectBlock;
}

}  // namespace

Result<RestoreResult> RunRestore(Repository& repo, const Manifest& manifest, VolumeWriter& dest,
                                 const RestoreOptions& options) {
  auto started = std::chrono::steady_clock::now();
  RestoreResult result;
  result.bytes = manifest.summary.source_size;
  if (options.progress) options.progress->total = result.bytes;

  // Distinct chunks in order of first use, each with every offset it fills;
  // and room for every run of data, reserved before any chunk is fetched.
  std::vector<ChunkUse> uses;
  std::unordered_map<ChunkId, size_t, ChunkIdHash> index;
  uint64_t offset = 0, run_start = 0;
  for (const ManifestEntry& e : manifest.entries) {
    if (e.zero) {
      COFFER_RETURN_IF_ERROR(dest.Allocate(run_start, offset - run_start));
      run_start = offset + e.length;
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
  COFFER_RETURN_IF_ERROR(dest.Allocate(run_start, offset - run_start));
  result.chunks_fetched = uses.size();

  // Latency-bound stores (S3) keep their connections busy; a local one
  // needs a fetcher per core and one more, so that fetches overlap checks.
  const unsigned threads = options.threads
                               ? options.threads
                               : repo.store().properties().ConcurrencyOr(
                                     std::max(1u, std::thread::hardware_concurrency()) + 1);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<Error> error;
  // Plaintext slots, each with room for a chunk at any offset from a block
  // boundary; free ones wait in `free_slots`, full ones in `ready`.
  struct Ready {
    size_t use;     // index into `uses`
    uint8_t* slot;  // holding the plaintext at PlaceIn(slot, use)
  };
  WorkQueue<uint8_t*> free_slots;
  WorkQueue<Ready> ready;
  auto fail = [&](Error e) {
    {
      std::lock_guard lock(error_mu);
      if (!error) error = std::move(e);
      failed = true;
    }
    free_slots.Close();  // fetchers waiting for a slot stop
  };
  const size_t max_plain = manifest.summary.chunker.max_size;
  // Chunks are fetched and verified by `threads` threads and written by
  // this one alone, straight from the slot they were opened into: the
  // device is the limit of a restore, and one writer that never waits for
  // a lock (a hand-over between threads costs a wake-up each time, about a
  // fifth of the time measured here) keeps it busy. A slot holds a chunk
  // up to a block in (PlaceIn), in whole blocks as aligned_alloc wants.
  const size_t slot_size = size_t(DirectRoundUp(max_plain)) + kDirectBlock;
  std::vector<std::unique_ptr<uint8_t, decltype(&std::free)>> slots;
  for (unsigned i = 0; i < threads + 1; ++i) {
    slots.emplace_back(static_cast<uint8_t*>(std::aligned_alloc(kDirectBlock, slot_size)),
                       &std::free);
    if (slots.back() == nullptr) return ResourceExhausted("no memory for the restore's buffers");
    free_slots.Push(slots.back().get());
  }

  // True once the caller asked to stop; records kCancelled as the error.
  auto cancelled = [&] {
    if (options.cancel == nullptr || !options.cancel->load(std::memory_order_relaxed)) return false;
    fail(Error(ErrorCode::kCancelled, "the restore into " + dest.name() + " was cancelled"));
    return true;
  };

  std::atomic<unsigned> fetching{threads};
  auto fetch = [&] {
    Buffer object, scratch;
    while (!failed) {
      if (cancelled()) break;
      std::optional<uint8_t*> slot = free_slots.Pop();
      if (!slot) break;
      size_t i = next++;
      if (failed || i >= uses.size()) {
        free_slots.Push(*slot);
        break;
      }
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
        break;
      }
      auto opened = OpenChunkInto(repo.keys(), use.id, object.view(), max_plain,
                                  PlaceIn(*slot, use), &scratch);
      if (!opened) {
        fail(Error(ErrorCode::kCorruption, where + ": " + opened.error().message()));
        break;
      }
      if (*opened != use.length) {
        fail(Error(ErrorCode::kCorruption, where + ": holds " + std::to_string(*opened) +
                                               " bytes, the manifest says " +
                                               std::to_string(use.length)));
        break;
      }
      ready.Push(Ready{i, *slot});
    }
    if (--fetching == 0) ready.Close();
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(fetch);
  while (std::optional<Ready> r = ready.Pop()) {
    const ChunkUse& use = uses[r->use];
    const ByteView plain(PlaceIn(r->slot, use), use.length);
    for (uint64_t off : use.offsets) {
      // The writer checks too: a chunk used at many offsets can keep it
      // busy long after the last fetch.
      if (failed || cancelled()) break;
      if (auto st = dest.WriteAt(off, plain); !st) {
        fail(st.error());
        break;
      }
      if (options.progress) options.progress->done += use.length;
    }
    free_slots.Push(r->slot);
  }
  for (auto& t : pool) t.join();
  cancelled();  // a cancel after the last write still commits nothing
  if (error) return std::unexpected(*error);
  COFFER_RETURN_IF_ERROR(dest.Commit());
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace coffer
