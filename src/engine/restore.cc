// The restore in three stages: the plan (the distinct chunks and where each
// goes; zero ranges written and room reserved on the way), the fetch (each
// chunk read and verified once, on threads of their own) and the write (on
// the calling thread alone).
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

// The distinct chunks of `manifest` in order of first use, each with every
// offset it fills. On the way, the zero ranges are written (their bytes
// added to *zero_bytes) and room for every run of data is reserved, before
// any chunk is fetched. kCorruption for a chunk given two lengths, else the
// writer's error.
Result<std::vector<ChunkUse>> Plan(const Manifest& manifest, VolumeWriter& dest, Progress* progress,
                                   uint64_t* zero_bytes) {
  std::vector<ChunkUse> uses;
  std::unordered_map<ChunkId, size_t, ChunkIdHash> index;
  uint64_t offset = 0, run_start = 0;
  for (const ManifestEntry& e : manifest.entries) {
    if (e.zero) {
      COFFER_RETURN_IF_ERROR(dest.Allocate(run_start, offset - run_start));
      run_start = offset + e.length;
      COFFER_RETURN_IF_ERROR(dest.WriteZeros(offset, e.length));
      *zero_bytes += e.length;
      if (progress) progress->done += e.length;
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
  return uses;
}

// Chunks are fetched and verified by `threads` threads and written by the
// calling one alone, straight from the slot they were opened into: the
// device is the limit of a restore, and one writer that never waits for a
// lock (a hand-over between threads costs a wake-up each time, about a
// fifth of the time measured here) keeps it busy.
class FetchAndWrite {
 public:
  FetchAndWrite(Repository& repo, const Manifest& manifest, const std::vector<ChunkUse>& uses,
                VolumeWriter& dest, const RestoreOptions& options)
      : repo_(repo),
        manifest_(manifest),
        uses_(uses),
        dest_(dest),
        options_(options),
        max_plain_(manifest.summary.chunker.max_size) {}

  // Every chunk of `uses` written at each of its offsets; the writer is not
  // committed. The first error of any thread, or kCancelled.
  Status Run(unsigned threads);

 private:
  struct Ready {
    size_t use;     // index into `uses_`
    uint8_t* slot;  // holding the plaintext at PlaceIn(slot, use)
  };

  Status AllocateSlots(unsigned count);
  void Fetcher();
  // Reads use i's chunk and opens it into `slot`, verified.
  Status FetchInto(size_t i, uint8_t* slot, Buffer& object, Buffer& scratch);
  void Writer();
  void Fail(Error e);
  // True once the caller asked to stop; records kCancelled as the error.
  bool Cancelled();

  Repository& repo_;
  const Manifest& manifest_;
  const std::vector<ChunkUse>& uses_;
  VolumeWriter& dest_;
  const RestoreOptions& options_;
  const size_t max_plain_;
  // Plaintext slots, each with room for a chunk at any offset from a block
  // boundary; free ones wait in `free_slots_`, full ones in `ready_`.
  std::vector<std::unique_ptr<uint8_t, decltype(&std::free)>> slots_;
  WorkQueue<uint8_t*> free_slots_;
  WorkQueue<Ready> ready_;
  std::atomic<size_t> next_{0};
  std::atomic<unsigned> fetching_{0};
  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  std::optional<Error> error_;
};

Status FetchAndWrite::Run(unsigned threads) {
  COFFER_RETURN_IF_ERROR(AllocateSlots(threads + 1));
  fetching_ = threads;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back([this] { Fetcher(); });
  Writer();
  for (auto& t : pool) t.join();
  Cancelled();  // a cancel after the last write still commits nothing
  if (error_) return std::unexpected(*error_);
  return {};
}

// A slot holds a chunk up to a block in (PlaceIn), in whole blocks as
// aligned_alloc wants.
Status FetchAndWrite::AllocateSlots(unsigned count) {
  const size_t slot_size = size_t(DirectRoundUp(max_plain_)) + kDirectBlock;
  for (unsigned i = 0; i < count; ++i) {
    slots_.emplace_back(static_cast<uint8_t*>(std::aligned_alloc(kDirectBlock, slot_size)),
                        &std::free);
    if (slots_.back() == nullptr) return ResourceExhausted("no memory for the restore's buffers");
    free_slots_.Push(slots_.back().get());
  }
  return {};
}

void FetchAndWrite::Fail(Error e) {
  {
    std::lock_guard lock(error_mu_);
    if (!error_) error_ = std::move(e);
    failed_ = true;
  }
  free_slots_.Close();  // fetchers waiting for a slot stop
}

bool FetchAndWrite::Cancelled() {
  if (options_.cancel == nullptr || !options_.cancel->load(std::memory_order_relaxed)) return false;
  Fail(Error(ErrorCode::kCancelled, "the restore into " + dest_.name() + " was cancelled"));
  return true;
}

void FetchAndWrite::Fetcher() {
  Buffer object, scratch;
  while (!failed_) {
    if (Cancelled()) break;
    std::optional<uint8_t*> slot = free_slots_.Pop();
    if (!slot) break;
    size_t i = next_++;
    if (failed_ || i >= uses_.size()) {
      free_slots_.Push(*slot);
      break;
    }
    if (auto st = FetchInto(i, *slot, object, scratch); !st) {
      Fail(st.error());
      break;
    }
    ready_.Push(Ready{i, *slot});
  }
  if (--fetching_ == 0) ready_.Close();
}

Status FetchAndWrite::FetchInto(size_t i, uint8_t* slot, Buffer& object, Buffer& scratch) {
  const ChunkUse& use = uses_[i];
  std::string where = "chunk " + HexEncode(use.id) + " at volume offset " +
                      std::to_string(use.offsets.front()) + " of backup " +
                      manifest_.summary.backup_id.ToString();
  auto got = repo_.store().Get(ChunkKey(use.id), &object);
  if (!got) {
    if (got.error().code() == ErrorCode::kNotFound) {
      return std::unexpected(Error(ErrorCode::kCorruption, where + " is missing from the target"));
    }
    return std::unexpected(got.error().WithContext("reading " + where));
  }
  auto opened =
      OpenChunkInto(repo_.keys(), use.id, object.view(), max_plain_, PlaceIn(slot, use), &scratch);
  if (!opened) {
    return std::unexpected(Error(ErrorCode::kCorruption, where + ": " + opened.error().message()));
  }
  if (*opened != use.length) {
    return std::unexpected(Error(ErrorCode::kCorruption,
                                 where + ": holds " + std::to_string(*opened) +
                                     " bytes, the manifest says " + std::to_string(use.length)));
  }
  return {};
}

void FetchAndWrite::Writer() {
  while (std::optional<Ready> r = ready_.Pop()) {
    const ChunkUse& use = uses_[r->use];
    const ByteView plain(PlaceIn(r->slot, use), use.length);
    for (uint64_t off : use.offsets) {
      // The writer checks too: a chunk used at many offsets can keep it
      // busy long after the last fetch.
      if (failed_ || Cancelled()) break;
      if (auto st = dest_.WriteAt(off, plain); !st) {
        Fail(st.error());
        break;
      }
      if (options_.progress) options_.progress->done += use.length;
    }
    free_slots_.Push(r->slot);
  }
}

}  // namespace

Result<RestoreResult> RunRestore(Repository& repo, const Manifest& manifest, VolumeWriter& dest,
                                 const RestoreOptions& options) {
  auto started = std::chrono::steady_clock::now();
  RestoreResult result;
  result.bytes = manifest.summary.source_size;
  if (options.progress) options.progress->total = result.bytes;
  COFFER_ASSIGN_OR_RETURN(std::vector<ChunkUse> uses,
                          Plan(manifest, dest, options.progress, &result.zero_bytes));
  result.chunks_fetched = uses.size();

  // Latency-bound stores (S3) keep their connections busy; a local one
  // needs a fetcher per core and one more, so that fetches overlap checks.
  const unsigned threads = options.threads
                               ? options.threads
                               : repo.store().properties().ConcurrencyOr(
                                     std::max(1u, std::thread::hardware_concurrency()) + 1);
  FetchAndWrite stages(repo, manifest, uses, dest, options);
  COFFER_RETURN_IF_ERROR(stages.Run(threads));
  COFFER_RETURN_IF_ERROR(dest.Commit());
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace coffer
