// The run of a backup: the workers that cut, hash and seal, the uploaders
// that store, and the manifest at the end. How a worker reads the source is
// in backup_window.h, what it takes from the parent in backup_parent.h, and
// the checks before the manifest in backup_commit.h.
#include "engine/backup.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/direct_io.h"
#include "base/text.h"
#include "core/chunker/fastcdc.h"
#include "core/chunker/zero.h"
#include "core/chunker/zero_runs.h"
#include "core/format/chunk_object.h"
#include "engine/backup_commit.h"
#include "engine/backup_parent.h"
#include "engine/backup_window.h"
#include "engine/buffer_pool.h"

namespace coffer {
namespace {

// Ids claimed by this run, so two workers never store the same new chunk.
class ClaimSet {
 public:
  // True if this call claimed the id; false if it was claimed before.
  bool Claim(const ChunkId& id) {
    Shard& s = shards_[id[0] % kShards];
    std::lock_guard lock(s.mu);
    return s.ids.insert(id).second;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::unordered_set<ChunkId, ChunkIdHash> ids;
  };
  std::array<Shard, kShards> shards_;
};

struct Upload {
  std::string key;
  Buffer object;
};

// A new chunk a worker cut and handed over for another to seal.
struct SealTask {
  std::string key;
  ChunkId id;
  Buffer plain;  // a copy: the cutting worker's window moves on
};

class BackupRun {
 public:
  BackupRun(Repository& repo, VolumeReader& source, const BackupOptions& options)
      : repo_(repo),
        source_(source),
        options_(options),
        cdc_(repo.config().chunker, GearTableFor(repo.keys())),
        workers_(options.workers ? options.workers
                                 : std::max(1u, std::thread::hardware_concurrency())),
        uploaders_(options.uploaders ? options.uploaders
                                     : repo.store().properties().ConcurrencyOr(4)),
        head_unknown_(
            options.head_unknown_chunks.value_or(!repo.store().properties().billed_requests)),
        read_ahead_(DirectRoundDown(options.read_ahead)),
        pool_(workers_ * 2 + uploaders_),
        segments_(source.size(), repo.config().segment_size) {}

  Result<BackupResult> Run();

 private:
  // The GC generation at the start and the parent: what this backup counts
  // on being stored.
  Status LoadWhatIsStored();
  // Runs the workers and the uploaders until every chunk is stored or the
  // run failed.
  void CutAndStore();
  void Worker();
  Status ProcessSegment(uint64_t start, uint64_t end, std::vector<ManifestEntry>* out,
                        ReadWindow& w);
  // `known_id`, if given, is the chunk's id, already computed.
  Status HandleChunk(uint64_t offset, ByteView data, std::vector<ManifestEntry>* out,
                     const ChunkId* known_id = nullptr);
  // Whether the store holds the chunk (a Head), for one not known to be.
  Result<bool> IsStored(uint64_t offset, const ChunkId& id, const std::string& key);
  // Queues a copy of a new chunk for a worker out of segments to seal.
  void HandOver(std::string key, const ChunkId& id, ByteView data);
  void AddZero(uint64_t length, std::vector<ManifestEntry>* out);
  // Seals a new chunk into a pool buffer and queues its upload.
  void Seal(std::string key, const ChunkId& id, ByteView data);
  void Uploader();
  // The manifest of what the workers cut, but for its duration.
  Manifest CollectManifest();
  // Once the chunks are durable and the commit checks pass, stores the
  // sealed manifest and returns it.
  Result<Bytes> Commit(const Manifest& m, CommitChecks* checks);
  BackupResult Report(const ManifestSummary& s, const Bytes& sealed, const CommitChecks& checks,
                      double seconds) const;
  void Fail(Error e);
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // True once the caller asked to stop; records kCancelled as the run's error.
  bool CheckCancel();

  Repository& repo_;
  VolumeReader& source_;
  const BackupOptions& options_;
  FastCdc cdc_;
  const unsigned workers_, uploaders_;
  const bool head_unknown_;  // ask the store about a chunk not known to be stored
  const size_t read_ahead_;  // bytes; a multiple of kDirectBlock

  uint64_t start_generation_ = 0;
  BackupParent parent_;
  ClaimSet claimed_;

  BufferPool pool_;
  WorkQueue<Upload> uploads_;
  // A worker out of segments seals chunks for those still cutting theirs,
  // so the last segments do not leave a core idle (see Worker).
  WorkQueue<SealTask> seals_;
  std::atomic<unsigned> cutting_{0}, helping_{0}, queued_seals_{0};

  Segments segments_;
  std::vector<std::vector<ManifestEntry>> entries_;  // each segment's

  std::atomic<uint64_t> zero_bytes_{0}, zero_chunks_{0}, new_bytes_{0}, new_chunks_{0},
      stored_bytes_{0}, parent_cuts_{0}, handed_over_{0}, read_ahead_used_{0};

  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  std::optional<Error> error_;
};

void BackupRun::Fail(Error e) {
  {
    std::lock_guard lock(error_mu_);
    if (!error_) error_ = std::move(e);
  }
  failed_ = true;
  pool_.Close();
  uploads_.Close();
}

bool BackupRun::CheckCancel() {
  if (options_.cancel == nullptr || !options_.cancel->load(std::memory_order_relaxed)) {
    return false;
  }
  Fail(Error(ErrorCode::kCancelled, "the backup of " + source_.name() + " was cancelled"));
  return true;
}

Status BackupRun::LoadWhatIsStored() {
  // The generation that what this backup knows is stored belongs to: the
  // parent's chunks are read below, the caller's known set may be older.
  // The caller read it when it prepared its known set, holding the lock.
  if (options_.known_chunks != nullptr) {
    start_generation_ = options_.known_chunks->generation();
  } else {
    COFFER_ASSIGN_OR_RETURN(start_generation_,
                            AddContext(repo_.GcGeneration(), "reading the GC generation"));
  }
  COFFER_ASSIGN_OR_RETURN(parent_,
                          BackupParent::Load(repo_, options_.volume_name, options_.summary_cache));
  return {};
}

Status BackupRun::ProcessSegment(uint64_t start, uint64_t end, std::vector<ManifestEntry>* out,
                                 ReadWindow& w) {
  const size_t max_size = cdc_.params().max_size;
  uint64_t pos = start;
  while (pos < end) {
    if (failed() || CheckCancel()) return {};
    const uint64_t remaining = end - pos;
    const size_t span = size_t(std::min<uint64_t>(max_size, remaining));  // longest chunk here
    const bool aligned = pos % kZeroBlock == 0;

    // A zero run that lies in a hole needs no read at all.
    if (aligned && span >= kMinZeroRun) {
      COFFER_ASSIGN_OR_RETURN(Extent data, w.DataAt(pos));
      if (data.length == 0 || data.offset >= pos + span) {
        AddZero(span, out);
        pos += span;
        continue;
      }
    }

    // Make the window hold [pos, pos + need): a whole chunk, plus enough to
    // see whether a zero run starts before the chunk's end. It starts on a
    // 4 KiB boundary of the volume, as its buffer does in memory, so the
    // source's whole blocks can be read straight into it (FileReader reads
    // what the page cache does not hold with O_DIRECT).
    const size_t need = size_t(std::min<uint64_t>(max_size + kMinZeroRun, remaining));
    if (!w.Holds(pos, need)) COFFER_RETURN_IF_ERROR(w.Refill(pos, need, end));
    const uint8_t* p = w.data() + (pos - w.offset());
    const size_t avail = size_t(std::min<uint64_t>(w.end() - pos, remaining));
    const bool window_ends_segment = avail == remaining;

    if (aligned) {
      size_t zeros = ZeroBlocksPrefix(p, span, span == remaining);
      if (zeros >= kMinZeroRun) {
        AddZero(zeros, out);
        pos += zeros;
        continue;
      }
    }
    // A data chunk: FastCDC's cut, but never past the start of a zero run.
    // Where the parent's chunk at this offset is unchanged, its cut is the
    // one FastCDC would make, confirmed without scanning.
    size_t limit = FindZeroRun(p, avail, pos, span, window_ends_segment);
    ChunkId id;
    size_t len = parent_.Cut(cdc_, repo_.keys(), pos, p, std::min(limit, span), &id);
    if (len != 0) {
      parent_cuts_.fetch_add(1, std::memory_order_relaxed);
      COFFER_RETURN_IF_ERROR(HandleChunk(pos, ByteView(p, len), out, &id));
    } else {
      len = limit < span ? cdc_.NextCut(p, limit, true) : cdc_.NextCut(p, span, span == remaining);
      COFFER_RETURN_IF_ERROR(HandleChunk(pos, ByteView(p, len), out));
    }
    pos += len;
  }
  return {};
}

void BackupRun::AddZero(uint64_t length, std::vector<ManifestEntry>* out) {
  out->push_back(ManifestEntry{{}, uint32_t(length), true});
  zero_bytes_ += length;
  ++zero_chunks_;
  if (options_.progress) options_.progress->done += length;
}

Status BackupRun::HandleChunk(uint64_t offset, ByteView data, std::vector<ManifestEntry>* out,
                              const ChunkId* known_id) {
  if (IsAllZero(data.data(), data.size())) {
    AddZero(data.size(), out);
    return {};
  }
  if (options_.progress) options_.progress->done += data.size();
  ManifestEntry entry;
  entry.length = uint32_t(data.size());
  entry.id = known_id != nullptr ? *known_id : ComputeChunkId(repo_.keys(), data);
  out->push_back(entry);
  if (parent_.Contains(entry.id) ||
      (options_.known_chunks != nullptr && options_.known_chunks->Contains(entry.id)) ||
      !claimed_.Claim(entry.id)) {
    return {};
  }

  std::string key = ChunkKey(entry.id);
  if (head_unknown_) {
    COFFER_ASSIGN_OR_RETURN(bool stored, IsStored(offset, entry.id, key));
    if (stored) return {};  // by an earlier backup
  }
  new_bytes_ += data.size();
  ++new_chunks_;
  if (options_.progress) options_.progress->new_bytes += data.size();
  // A worker with no segment left is waiting: it compresses and seals this
  // one while this worker cuts on. At most one queued chunk per helper
  // (give or take a race between cutting workers) keeps the copies few, and
  // the copies held, queued or being sealed, stay under 2 x workers: fewer
  // than the pool's 2 x workers + uploaders buffers, so a helper waiting
  // for an output buffer always gets one back from the uploaders.
  if (queued_seals_.load(std::memory_order_relaxed) < helping_.load(std::memory_order_relaxed)) {
    HandOver(std::move(key), entry.id, data);
  } else {
    Seal(std::move(key), entry.id, data);
  }
  return {};
}

Result<bool> BackupRun::IsStored(uint64_t offset, const ChunkId& id, const std::string& key) {
  auto head = repo_.store().Head(key);
  if (head) return true;
  if (head.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(head.error().WithContext(
        "checking chunk " + HexEncode(id) + " (volume offset " + std::to_string(offset) + ")"));
  }
  return false;
}

void BackupRun::HandOver(std::string key, const ChunkId& id, ByteView data) {
  std::optional<Buffer> plain = pool_.Acquire(data.size());
  if (!plain) return;  // the run failed meanwhile
  std::memcpy(plain->data(), data.data(), data.size());
  plain->set_size(data.size());
  queued_seals_.fetch_add(1, std::memory_order_relaxed);
  handed_over_.fetch_add(1, std::memory_order_relaxed);
  seals_.Push(SealTask{std::move(key), id, std::move(*plain)});
}

void BackupRun::Seal(std::string key, const ChunkId& id, ByteView data) {
  std::optional<Buffer> buf = pool_.Acquire(data.size() + kChunkOverhead);
  if (!buf) return;  // the run failed meanwhile
  SealedChunk sealed = SealChunk(repo_.keys(), id, data, buf->data(), options_.zstd_level);
  buf->set_size(sealed.size);
  stored_bytes_ += sealed.size;
  uploads_.Push(Upload{std::move(key), std::move(*buf)});
}

// Each worker cuts whole segments (a segment's cuts depend on its start)
// while there are any, then seals chunks that the workers still cutting
// hand over (HandleChunk), until the last of them is done: the last
// segments, or a volume of fewer segments than workers, still keep every
// core busy.
void BackupRun::Worker() {
  auto w = std::make_unique<ReadWindow>(source_, segments_, cdc_.params().max_size, read_ahead_);
  while (!failed()) {
    const size_t i = w->TakeSegment();
    if (i >= segments_.count()) break;
    if (auto st = ProcessSegment(segments_.Start(i), segments_.End(i), &entries_[i], *w); !st) {
      Fail(st.error());
      break;
    }
  }
  read_ahead_used_.fetch_add(w->read_ahead_used(), std::memory_order_relaxed);
  w.reset();  // its buffers, before this worker seals for others
  helping_.fetch_add(1, std::memory_order_relaxed);
  if (cutting_.fetch_sub(1) == 1) seals_.Close();  // nobody left to hand any over
  while (std::optional<SealTask> t = seals_.Pop()) {
    queued_seals_.fetch_sub(1, std::memory_order_relaxed);
    if (!failed()) Seal(std::move(t->key), t->id, t->plain.view());
    pool_.Release(std::move(t->plain));
  }
}

void BackupRun::Uploader() {
  while (std::optional<Upload> u = uploads_.Pop()) {
    if (failed() || CheckCancel()) return;
    if (auto st = repo_.store().PutDeferred(u->key, u->object.view()); !st) {
      Fail(st.error().WithContext("storing " + u->key));
      return;
    }
    pool_.Release(std::move(u->object));
  }
}

void BackupRun::CutAndStore() {
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < uploaders_; ++i) threads.emplace_back([this] { Uploader(); });
  std::vector<std::thread> workers;
  cutting_ = workers_;
  for (unsigned i = 0; i < workers_; ++i) workers.emplace_back([this] { Worker(); });
  for (auto& t : workers) t.join();
  uploads_.Close();
  for (auto& t : threads) t.join();
}

Manifest BackupRun::CollectManifest() {
  Manifest m;
  ManifestSummary& s = m.summary;
  s.backup_id = options_.backup_id.IsNil() ? Uuid::Random() : options_.backup_id;
  s.target_id = repo_.config().target_id;
  s.parent_id = parent_.id();
  s.created_at = UnixNowMicros();
  s.volume_id = options_.volume_id.empty() ? options_.volume_name : options_.volume_id;
  s.volume_name = options_.volume_name;
  s.source_size = segments_.volume_size();
  s.chunker = repo_.config().chunker;
  s.segment_size = repo_.config().segment_size;
  size_t total = 0;
  for (const auto& v : entries_) total += v.size();
  m.entries.reserve(total);
  for (auto& v : entries_) {
    m.entries.insert(m.entries.end(), v.begin(), v.end());
    std::vector<ManifestEntry>().swap(v);
  }
  s.zero_bytes = zero_bytes_;
  s.new_bytes = new_bytes_;
  s.new_chunks = new_chunks_;
  s.chunk_count = m.entries.size();
  s.stored_bytes = stored_bytes_;
  return m;
}

Result<Bytes> BackupRun::Commit(const Manifest& m, CommitChecks* checks) {
  // The manifest goes last, once the chunks it names are durable, so a
  // backup exists only once everything it names does.
  COFFER_RETURN_IF_ERROR(AddContext(repo_.store().Flush(), "storing chunks"));
  COFFER_RETURN_IF_ERROR(CheckCommit(repo_, source_, options_, m, start_generation_, checks));
  const Uuid& id = m.summary.backup_id;
  Bytes sealed = SealManifest(repo_.keys(), m);
  COFFER_RETURN_IF_ERROR(
      AddContext(repo_.store().Put(ManifestKey(id), sealed), "storing manifest " + id.ToString()));
  if (options_.known_chunks != nullptr) {
    std::vector<ChunkId> ids;
    ids.reserve(m.entries.size());
    for (const ManifestEntry& e : m.entries) {
      if (!e.zero) ids.push_back(e.id);
    }
    options_.known_chunks->Add(ids);
  }
  return sealed;
}

BackupResult BackupRun::Report(const ManifestSummary& s, const Bytes& sealed,
                               const CommitChecks& checks, double seconds) const {
  BackupResult result;
  result.summary = s;
  result.zero_chunks = zero_chunks_;
  result.manifest_bytes = sealed.size();
  result.commit = checks;
  result.manifest_head.assign(
      sealed.begin(), sealed.begin() + ptrdiff_t(std::min(sealed.size(), kManifestSummaryMaxRead)));
  result.seconds = seconds;
  if (options_.tuning != nullptr) {
    options_.tuning->parent_cuts = parent_cuts_;
    options_.tuning->handed_over = handed_over_;
    options_.tuning->read_ahead_used = read_ahead_used_;
  }
  return result;
}

Result<BackupResult> BackupRun::Run() {
  auto started = std::chrono::steady_clock::now();
  if (options_.volume_name.empty()) return InvalidArgument("the volume needs a name");
  COFFER_RETURN_IF_ERROR(LoadWhatIsStored());
  if (CheckCancel()) return std::unexpected(*error_);
  entries_.resize(segments_.count());
  if (options_.progress) options_.progress->total = segments_.volume_size();
  CutAndStore();
  CheckCancel();  // a cancel that came after the last chunk still writes no manifest
  if (error_) return std::unexpected(*error_);

  Manifest m = CollectManifest();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  m.summary.duration_ms = uint64_t(seconds * 1000);
  CommitChecks checks;
  COFFER_ASSIGN_OR_RETURN(Bytes sealed, Commit(m, &checks));
  return Report(m.summary, sealed, checks, seconds);
}

}  // namespace

Result<BackupResult> RunBackup(Repository& repo, VolumeReader& source,
                               const BackupOptions& options) {
  BackupRun run(repo, source, options);
  return run.Run();
}

}  // namespace coffer
