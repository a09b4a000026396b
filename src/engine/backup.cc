#include "engine/backup.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
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
#include "engine/buffer_pool.h"

namespace coffer {
namespace {

using IdSet = std::unordered_set<ChunkId, ChunkIdHash>;

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
    IdSet ids;
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

// Reads the next bytes of one worker's segment on a thread of its own while
// the worker cuts and seals the bytes it has, so that a source which makes
// its reader wait (a cold file, read around the page cache; NBD; iSCSI)
// does not leave the worker's core idle for every window. The worker still
// has one read in flight at most, so the source sees no more concurrent
// reads than before. Only the worker calls Start and Wait.
class ReadAhead {
 public:
  using FillFn = std::function<Status(uint64_t offset, uint8_t* dst, size_t len)>;

  explicit ReadAhead(FillFn fill) : fill_(std::move(fill)) {}
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;
  // Waits for a read in flight: its destination may be freed next.
  ~ReadAhead() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Starts reading [offset, offset + len) into dst; nothing may be in flight.
  void Start(uint64_t offset, uint8_t* dst, size_t len) {
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    {
      std::lock_guard lock(mu_);
      job_ = Job{offset, dst, len};
      done_.reset();
    }
    cv_.notify_all();
    pending_ = true;
    offset_ = offset, dst_ = dst, len_ = len;
  }

  bool pending() const { return pending_; }
  uint64_t offset() const { return offset_; }
  uint64_t end() const { return offset_ + len_; }
  uint8_t* dst() const { return dst_; }

  // Waits for the read started last and returns how it went.
  Status Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_.has_value(); });
    pending_ = false;
    Status st = std::move(*done_);
    done_.reset();
    return st;
  }

 private:
  struct Job {
    uint64_t offset;
    uint8_t* dst;
    size_t len;
  };

  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return job_.has_value() || stop_; });
      if (!job_) return;
      Job job = *job_;
      job_.reset();
      lock.unlock();
      Status st = fill_(job.offset, job.dst, job.len);
      lock.lock();
      done_ = std::move(st);
      cv_.notify_all();
    }
  }

  const FillFn fill_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;      // guarded by mu_
  std::optional<Status> done_;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  // The worker's own view of the read in flight.
  bool pending_ = false;
  uint64_t offset_ = 0;
  uint8_t* dst_ = nullptr;
  size_t len_ = 0;
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
        pool_(workers_ * 2 + uploaders_) {}

  Result<BackupResult> Run();

 private:
  uint64_t start_generation_ = 0;
  // The data extent a thread last asked the source about.
  struct ExtentCache {
    Extent data{0, 0};   // NextData() of the last query
    uint64_t query = 0;  // the offset that query asked about
    bool valid = false;
  };

  // What one worker reuses across segments. Its window is the source's
  // bytes [window_offset, window_offset + window_size), in one of two
  // buffers; the read ahead fills the other one.
  struct WorkerState {
    explicit WorkerState(BackupRun& run)
        : ahead([&run, this](uint64_t offset, uint8_t* dst, size_t len) {
            return run.Fill(offset, dst, len, ahead_extent);
          }) {}

    Buffer buffers[2];
    int current = 0;  // the buffer that holds the window
    uint8_t* window = nullptr;
    size_t window_size = 0;
    uint64_t window_offset = 0;
    ExtentCache extent;                  // the worker's
    ExtentCache ahead_extent;            // the read ahead's
    std::optional<size_t> next_segment;  // taken early, to read its start ahead
    ReadAhead ahead;                     // last: stops before the buffers go
  };

  Status LoadParent();
  uint64_t SegmentEnd(size_t i) const {
    return i + 1 < segment_starts_.size() ? segment_starts_[i + 1] : source_.size();
  }
  void Worker();
  Status ProcessSegment(uint64_t start, uint64_t end, std::vector<ManifestEntry>* out,
                        WorkerState& w);
  Result<Extent> DataAt(uint64_t offset, ExtentCache& cache);
  Status Fill(uint64_t offset, uint8_t* dst, size_t len, ExtentCache& cache);
  // Makes w's window hold [pos, pos + need) (`need` ends at `end` at most)
  // and starts reading ahead what follows it in the segment.
  Status Refill(uint64_t pos, size_t need, uint64_t end, WorkerState& w);
  // Whether reading [offset, offset + len) may wait for the source: the
  // first run of data in it is not all in the page cache.
  bool MayWait(uint64_t offset, size_t len, ExtentCache& cache);
  // `known_id`, if given, is the chunk's id, already computed.
  Status HandleChunk(uint64_t offset, ByteView data, std::vector<ManifestEntry>* out,
                     const ChunkId* known_id = nullptr);
  // The cut FastCDC would make at `pos` if the parent's chunk there is
  // unchanged, with its id in *id; 0 if it is not (or there is none).
  size_t ParentCut(uint64_t pos, const uint8_t* p, size_t bound, ChunkId* id) const;
  void AddZero(uint64_t length, std::vector<ManifestEntry>* out);
  // Seals a new chunk into a pool buffer and queues its upload.
  void Seal(std::string key, const ChunkId& id, ByteView data);
  void Uploader();
  // Before the manifest (DESIGN §5): the caller's gate, the lock, and, if a
  // GC ran meanwhile, every chunk of `m` confirmed or stored again.
  Status CheckCommit(const Manifest& m, CommitChecks* checks);
  // The data chunks of `m` that the target does not hold: a LIST of a
  // chunks/xx/ folder where it holds two or more of them, else a HEAD.
  Result<std::vector<std::pair<uint64_t, ManifestEntry>>> MissingChunks(const Manifest& m,
                                                                        uint64_t* confirmed);
  // Reads a chunk's bytes at `offset` from the source again, checks they
  // still have its id, and stores it.
  Status StoreAgain(uint64_t offset, const ManifestEntry& e);
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

  Uuid parent_id_;
  IdSet parent_ids_;
  // The parent's data chunks in volume order, when it was cut with the same
  // chunker and segments as this backup.
  struct ParentChunk {
    uint64_t offset;
    uint32_t length;
    ChunkId id;
  };
  std::vector<ParentChunk> parent_chunks_;
  ClaimSet claimed_;

  BufferPool pool_;
  WorkQueue<Upload> uploads_;
  // A worker out of segments seals chunks for those still cutting theirs,
  // so the last segments do not leave a core idle (see Worker).
  WorkQueue<SealTask> seals_;
  std::atomic<unsigned> cutting_{0}, helping_{0}, queued_seals_{0};

  std::vector<uint64_t> segment_starts_;
  std::vector<std::vector<ManifestEntry>> segments_;
  std::atomic<size_t> next_segment_{0};

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

Status BackupRun::LoadParent() {
  COFFER_ASSIGN_OR_RETURN(std::vector<ManifestSummary> summaries,
                          repo_.ListSummaries(options_.summary_cache));
  const ManifestSummary* parent = nullptr;
  for (const ManifestSummary& s : summaries) {
    if (s.volume_name == options_.volume_name) parent = &s;  // oldest first: keeps the newest
  }
  if (parent == nullptr) return {};
  COFFER_ASSIGN_OR_RETURN(Manifest m, repo_.LoadManifest(parent->backup_id));
  parent_id_ = parent->backup_id;
  parent_ids_.reserve(m.entries.size());
  for (const ManifestEntry& e : m.entries) {
    if (!e.zero) parent_ids_.insert(e.id);
  }
  const ChunkerParams& mine = repo_.config().chunker;
  const ChunkerParams& theirs = m.summary.chunker;
  if (theirs.min_size == mine.min_size && theirs.avg_size == mine.avg_size &&
      theirs.max_size == mine.max_size && m.summary.segment_size == repo_.config().segment_size) {
    parent_chunks_.reserve(m.entries.size());
    uint64_t offset = 0;
    for (const ManifestEntry& e : m.entries) {
      if (!e.zero) parent_chunks_.push_back(ParentChunk{offset, e.length, e.id});
      offset += e.length;
    }
  }
  return {};
}

Result<Extent> BackupRun::DataAt(uint64_t offset, ExtentCache& cache) {
  // The answer holds for offsets from the query on: [query, data.offset) is
  // a hole, then the data. Fill looks ahead of the chunk position, so a later
  // question may be about an offset before the cached query — asked anew.
  if (cache.valid && offset >= cache.query) {
    if (offset < cache.data.offset + cache.data.length) return cache.data;
    if (cache.data.length == 0) return cache.data;  // only holes after the query
  }
  COFFER_ASSIGN_OR_RETURN(cache.data, source_.NextData(offset));
  cache.query = offset;
  cache.valid = true;
  return cache.data;
}

// Fills dst with the source bytes [offset, offset+len): holes as zeros
// without reading them.
Status BackupRun::Fill(uint64_t offset, uint8_t* dst, size_t len, ExtentCache& cache) {
  while (len > 0) {
    COFFER_ASSIGN_OR_RETURN(Extent data, DataAt(offset, cache));
    if (data.length == 0 || data.offset > offset) {
      uint64_t hole_end = data.length == 0 ? offset + len : data.offset;
      size_t n = size_t(std::min<uint64_t>(len, hole_end - offset));
      std::memset(dst, 0, n);
      offset += n, dst += n, len -= n;
      continue;
    }
    size_t n = size_t(std::min<uint64_t>(len, data.offset + data.length - offset));
    COFFER_RETURN_IF_ERROR(source_.ReadAt(offset, dst, n));
    offset += n, dst += n, len -= n;
  }
  return {};
}

// Holes read as zeros without waiting, and what the page cache holds is
// best copied by the worker when its window needs it: a copy made ahead by
// another thread, maybe on another core, would only be read back from there.
bool BackupRun::MayWait(uint64_t offset, size_t len, ExtentCache& cache) {
  Result<Extent> data = DataAt(offset, cache);
  if (!data) return true;  // the read will say what is wrong
  const uint64_t from = std::max(offset, data->offset);
  const uint64_t to = std::min(offset + len, data->offset + data->length);
  return from < to && source_.MayWait(from, to - from);
}

Status BackupRun::Refill(uint64_t pos, size_t need, uint64_t end, WorkerState& w) {
  // Both buffers start with room for what a window keeps when it moves on
  // (less than a whole chunk and a zero run's lookahead, from pos's 4 KiB
  // block on), then room for a read ahead. 2 MiB by default: direct reads
  // of 1 MiB already run at a disk's speed, and with 4 MiB the windows of a
  // backup whose uploads lag (cold, onto the same disk) lifted its peak
  // memory above the 74 MiB that opening the key slot takes, to 77-79 MiB.
  const size_t keep_room = cdc_.params().max_size + kMinZeroRun + kDirectBlock;
  const size_t ahead = read_ahead_;
  if (w.buffers[0].capacity() == 0) {
    // Without a read ahead, the window's own reads are as large.
    w.buffers[0] = Buffer(keep_room + (ahead ? ahead : size_t(4) << 20));
    if (ahead) w.buffers[1] = Buffer(keep_room + ahead);
    w.current = 0;
    w.window = w.buffers[0].data();
    w.window_size = 0;
  }
  uint64_t win_end = w.window_offset + w.window_size;
  // The window's bytes from pos's block on (or from its start) stay.
  const uint64_t base = std::max(DirectRoundDown(pos), w.window_offset);

  const uint64_t block = DirectRoundDown(pos);
  if (w.ahead.pending() && pos < w.ahead.end() &&
      (block >= w.ahead.offset() || (w.ahead.offset() == win_end && pos >= w.window_offset))) {
    // The read ahead holds what comes next (or the start of the next
    // segment): the window moves to its buffer. What it keeps goes just
    // before the bytes read ahead: fewer than a chunk, which a refill
    // without it would move as well, and then wait for the read.
    COFFER_RETURN_IF_ERROR(w.ahead.Wait());
    uint8_t* next = w.ahead.dst();
    if (block >= w.ahead.offset()) {
      w.window = next + (block - w.ahead.offset());
      w.window_offset = block;
      w.window_size = size_t(w.ahead.end() - block);
    } else {
      const size_t keep = size_t(win_end - base);
      std::memcpy(next - keep, w.window + (base - w.window_offset), keep);
      w.window = next - keep;
      w.window_offset = base;
      w.window_size = keep + size_t(w.ahead.end() - win_end);
    }
    w.current = 1 - w.current;
    win_end = w.window_offset + w.window_size;
    read_ahead_used_.fetch_add(1, std::memory_order_relaxed);
  }

  if (pos < w.window_offset || win_end < pos + need) {
    // No read ahead, or not enough of one: move what stays to the start of
    // the window's buffer and read the rest here. A read ahead that the
    // worker skipped past (a hole) is waited for first: its buffer is the
    // next one's.
    if (w.ahead.pending()) (void)w.ahead.Wait();
    Buffer& buf = w.buffers[w.current];
    if (pos < w.window_offset || pos >= win_end) {
      w.window_offset = DirectRoundDown(pos);
      w.window_size = 0;
    } else {
      const size_t keep = size_t(win_end - base);
      std::memmove(buf.data(), w.window + (base - w.window_offset), keep);
      w.window_offset = base;
      w.window_size = keep;
    }
    w.window = buf.data();
    win_end = w.window_offset + w.window_size;
    const size_t n = size_t(std::min<uint64_t>(buf.capacity() - w.window_size, end - win_end));
    COFFER_RETURN_IF_ERROR(Fill(win_end, w.window + w.window_size, n, w.extent));
    w.window_size += n;
    win_end += n;
  }

  // Read what follows while this window is cut, into the other buffer, at
  // its offset's distance from a 4 KiB boundary so that whole blocks are
  // read straight into it; the read ends on a block boundary. Once the
  // window reaches the segment's end, what follows is the start of the
  // segment this worker takes next, which it takes now.
  if (ahead != 0 && !w.ahead.pending()) {
    uint64_t from = win_end, to = end;
    if (win_end >= end) {
      if (!w.next_segment) w.next_segment = next_segment_++;
      from = to = 0;
      if (*w.next_segment < segments_.size()) {
        from = segment_starts_[*w.next_segment];
        to = SegmentEnd(*w.next_segment);
      }
    }
    const size_t len = size_t(std::min<uint64_t>(ahead - from % kDirectBlock, to - from));
    // The read ahead's own extent cache: it is idle until Start, and the
    // worker's stays where the worker is.
    if (from < to && MayWait(from, len, w.ahead_extent)) {
      w.ahead.Start(from, w.buffers[1 - w.current].data() + keep_room + from % kDirectBlock, len);
    }
  }
  return {};
}

Status BackupRun::ProcessSegment(uint64_t start, uint64_t end, std::vector<ManifestEntry>* out,
                                 WorkerState& w) {
  const size_t max_size = cdc_.params().max_size;
  uint64_t pos = start;
  while (pos < end) {
    if (failed() || CheckCancel()) return {};
    const uint64_t remaining = end - pos;
    const size_t span = size_t(std::min<uint64_t>(max_size, remaining));  // longest chunk here
    const bool aligned = pos % kZeroBlock == 0;

    // A zero run that lies in a hole needs no read at all.
    if (aligned && span >= kMinZeroRun) {
      COFFER_ASSIGN_OR_RETURN(Extent data, DataAt(pos, w.extent));
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
    if (pos < w.window_offset || w.window_offset + w.window_size < pos + need) {
      COFFER_RETURN_IF_ERROR(Refill(pos, need, end, w));
    }
    const uint8_t* p = w.window + (pos - w.window_offset);
    const size_t avail =
        size_t(std::min<uint64_t>(w.window_offset + w.window_size - pos, remaining));
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
    size_t len = ParentCut(pos, p, std::min(limit, span), &id);
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

// FastCDC's cut for the chunk at `pos` is a function of its bytes alone (up
// to `bound`, the limit NextCut would be given). If the parent has a chunk
// of length L at the same offset with the same id, these are the same bytes,
// so no candidate before L passes here either (none did there: the parent's
// scan tested them all), and the cut is L exactly when L passes its own test
// or L is the bound. The id is computed either way; a changed chunk costs
// one extra hash of it.
size_t BackupRun::ParentCut(uint64_t pos, const uint8_t* p, size_t bound, ChunkId* id) const {
  auto it = std::lower_bound(parent_chunks_.begin(), parent_chunks_.end(), pos,
                             [](const ParentChunk& c, uint64_t o) { return c.offset < o; });
  if (it == parent_chunks_.end() || it->offset != pos || it->length > bound) return 0;
  const size_t len = it->length;
  if (len != bound && !cdc_.PassesAt(p, len)) return 0;
  *id = ComputeChunkId(repo_.keys(), ByteView(p, len));
  return *id == it->id ? len : 0;
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
  if (parent_ids_.contains(entry.id) ||
      (options_.known_chunks != nullptr && options_.known_chunks->Contains(entry.id)) ||
      !claimed_.Claim(entry.id)) {
    return {};
  }

  std::string key = ChunkKey(entry.id);
  if (head_unknown_) {
    auto head = repo_.store().Head(key);
    if (head) return {};  // stored by an earlier backup
    if (head.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(head.error().WithContext("checking chunk " + HexEncode(entry.id) +
                                                      " (volume offset " + std::to_string(offset) +
                                                      ")"));
    }
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
    std::optional<Buffer> plain = pool_.Acquire(data.size());
    if (!plain) return {};  // the run failed meanwhile
    std::memcpy(plain->data(), data.data(), data.size());
    plain->set_size(data.size());
    queued_seals_.fetch_add(1, std::memory_order_relaxed);
    handed_over_.fetch_add(1, std::memory_order_relaxed);
    seals_.Push(SealTask{std::move(key), entry.id, std::move(*plain)});
    return {};
  }
  Seal(std::move(key), entry.id, data);
  return {};
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
  auto w = std::make_unique<WorkerState>(*this);
  while (!failed()) {
    const size_t i = w->next_segment ? *w->next_segment : next_segment_++;
    w->next_segment.reset();
    if (i >= segments_.size()) break;
    if (auto st = ProcessSegment(segment_starts_[i], SegmentEnd(i), &segments_[i], *w); !st) {
      Fail(st.error());
      break;
    }
  }
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

Status BackupRun::CheckCommit(const Manifest& m, CommitChecks* checks) {
  checks->generation_at_start = start_generation_;
  if (options_.before_commit) COFFER_RETURN_IF_ERROR(options_.before_commit());
  if (options_.lock != nullptr) {
    COFFER_RETURN_IF_ERROR(AddContext(options_.lock->Reassert(), "before writing the manifest"));
  }
  uint64_t known = start_generation_;
  // A sweep raises the generation before it deletes: if it has not moved,
  // no chunk this backup counted on was swept. If it has, confirm them all
  // (and again if it moves while we do).
  for (int round = 0;; ++round) {
    COFFER_ASSIGN_OR_RETURN(uint64_t now,
                            AddContext(repo_.GcGeneration(), "reading the GC generation"));
    checks->generation_at_commit = now;
    if (now == known) return {};
    if (round == 3) {
      return Unavailable("a GC keeps sweeping the target while this backup commits (generation " +
                         std::to_string(known) + " → " + std::to_string(now) +
                         "); no manifest was written");
    }
    known = now;
    COFFER_ASSIGN_OR_RETURN(auto missing, MissingChunks(m, &checks->chunks_confirmed));
    for (const auto& [offset, entry] : missing) {
      COFFER_RETURN_IF_ERROR(StoreAgain(offset, entry));
      ++checks->chunks_restored;
    }
    COFFER_RETURN_IF_ERROR(AddContext(repo_.store().Flush(), "storing chunks again"));
  }
}

Result<std::vector<std::pair<uint64_t, ManifestEntry>>> BackupRun::MissingChunks(
    const Manifest& m, uint64_t* confirmed) {
  // Each distinct chunk once, at its first offset, grouped by folder.
  std::map<std::string, std::vector<std::pair<uint64_t, ManifestEntry>>> by_folder;
  IdSet seen;
  uint64_t offset = 0;
  for (const ManifestEntry& e : m.entries) {
    if (!e.zero && seen.insert(e.id).second) {
      std::string key = ChunkKey(e.id);
      by_folder[key.substr(0, key.rfind('/') + 1)].emplace_back(offset, e);
    }
    offset += e.length;
  }
  std::vector<std::pair<uint64_t, ManifestEntry>> missing;
  for (auto& [folder, chunks] : by_folder) {
    *confirmed += chunks.size();
    if (chunks.size() == 1) {
      auto head = repo_.store().Head(ChunkKey(chunks[0].second.id));
      if (head) continue;
      if (head.error().code() != ErrorCode::kNotFound) {
        return std::unexpected(head.error().WithContext("confirming the backup's chunks"));
      }
      missing.push_back(chunks[0]);
      continue;
    }
    std::unordered_set<std::string> present;
    COFFER_RETURN_IF_ERROR(AddContext(repo_.store().List(folder,
                                                         [&](const ObjectInfo& info) -> Status {
                                                           present.insert(info.key);
                                                           return {};
                                                         }),
                                      "confirming the backup's chunks"));
    for (auto& c : chunks) {
      if (!present.contains(ChunkKey(c.second.id))) missing.push_back(c);
    }
  }
  return missing;
}

Status BackupRun::StoreAgain(uint64_t offset, const ManifestEntry& e) {
  const std::string what = "chunk " + HexEncode(e.id) + " (volume offset " +
                           std::to_string(offset) +
                           ") was swept by a GC that ran during this "
                           "backup";
  Bytes plain(e.length);
  COFFER_RETURN_IF_ERROR(AddContext(source_.ReadAt(offset, plain.data(), plain.size()),
                                    what + ", and reading it again failed"));
  if (ComputeChunkId(repo_.keys(), plain) != e.id) {
    return Unavailable(what +
                       ", and the source no longer holds the same bytes there; no "
                       "manifest was written: run the backup again");
  }
  Bytes sealed(plain.size() + kChunkOverhead);
  SealedChunk out = SealChunk(repo_.keys(), e.id, plain, sealed.data(), options_.zstd_level);
  return AddContext(repo_.store().Put(ChunkKey(e.id), ByteView(sealed.data(), out.size)),
                    what + ", and storing it again failed");
}

Result<BackupResult> BackupRun::Run() {
  auto started = std::chrono::steady_clock::now();
  if (options_.volume_name.empty()) return InvalidArgument("the volume needs a name");
  // The generation that what this backup knows is stored belongs to: the
  // parent's chunks are read below, the caller's known set may be older.
  // The caller read it when it prepared its known set, holding the lock.
  if (options_.known_chunks != nullptr) {
    start_generation_ = options_.known_chunks->generation();
  } else {
    COFFER_ASSIGN_OR_RETURN(start_generation_,
                            AddContext(repo_.GcGeneration(), "reading the GC generation"));
  }
  COFFER_RETURN_IF_ERROR(LoadParent());
  if (CheckCancel()) return std::unexpected(*error_);

  uint64_t size = source_.size();
  uint64_t seg =
      repo_.config().segment_size ? repo_.config().segment_size : std::max<uint64_t>(size, 1);
  for (uint64_t s = 0; s < size; s += seg) segment_starts_.push_back(s);
  segments_.resize(segment_starts_.size());
  if (options_.progress) options_.progress->total = size;

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < uploaders_; ++i) threads.emplace_back([this] { Uploader(); });
  std::vector<std::thread> workers;
  cutting_ = workers_;
  for (unsigned i = 0; i < workers_; ++i) workers.emplace_back([this] { Worker(); });
  for (auto& t : workers) t.join();
  uploads_.Close();
  for (auto& t : threads) t.join();
  CheckCancel();  // a cancel that came after the last chunk still writes no manifest
  if (error_) return std::unexpected(*error_);

  Manifest m;
  ManifestSummary& s = m.summary;
  s.backup_id = options_.backup_id.IsNil() ? Uuid::Random() : options_.backup_id;
  s.target_id = repo_.config().target_id;
  s.parent_id = parent_id_;
  s.created_at = UnixNowMicros();
  s.volume_id = options_.volume_id.empty() ? options_.volume_name : options_.volume_id;
  s.volume_name = options_.volume_name;
  s.source_size = size;
  s.chunker = repo_.config().chunker;
  s.segment_size = repo_.config().segment_size;
  size_t total = 0;
  for (const auto& v : segments_) total += v.size();
  m.entries.reserve(total);
  for (auto& v : segments_) {
    m.entries.insert(m.entries.end(), v.begin(), v.end());
    std::vector<ManifestEntry>().swap(v);
  }
  s.zero_bytes = zero_bytes_;
  s.new_bytes = new_bytes_;
  s.new_chunks = new_chunks_;
  s.chunk_count = m.entries.size();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  s.duration_ms = uint64_t(seconds * 1000);
  s.stored_bytes = stored_bytes_;
  // The manifest goes last, once the chunks above are durable, so a backup
  // exists only once everything it names does.
  COFFER_RETURN_IF_ERROR(AddContext(repo_.store().Flush(), "storing chunks"));
  CommitChecks checks;
  COFFER_RETURN_IF_ERROR(CheckCommit(m, &checks));
  Bytes sealed = SealManifest(repo_.keys(), m);
  COFFER_RETURN_IF_ERROR(AddContext(repo_.store().Put(ManifestKey(s.backup_id), sealed),
                                    "storing manifest " + s.backup_id.ToString()));
  if (options_.known_chunks != nullptr) {
    std::vector<ChunkId> ids;
    ids.reserve(m.entries.size());
    for (const ManifestEntry& e : m.entries) {
      if (!e.zero) ids.push_back(e.id);
    }
    options_.known_chunks->Add(ids);
  }
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

}  // namespace

Result<BackupResult> RunBackup(Repository& repo, VolumeReader& source,
                               const BackupOptions& options) {
  BackupRun run(repo, source, options);
  return run.Run();
}

}  // namespace coffer
