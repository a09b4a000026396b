// How a backup worker reads the source (DESIGN §1), internal to the engine:
// the volume's segments, handed out to workers one at a time, and each
// worker's window over the bytes it cuts, refilled in place or from a read
// ahead that runs on a thread of its own. Holes read as zeros and are never
// read. The bytes a window holds do not depend on how it was filled.
//
// Thread safety: Segments::Take may be called from any thread; a ReadWindow
// belongs to one worker, which alone calls its methods.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "volume/volume.h"

namespace coffer {

// The volume cut into the target's segments (a cut is forced at each
// boundary): [Start(i), End(i)) for i below count().
class Segments {
 public:
  // `segment_size` 0: the whole volume is one segment.
  Segments(uint64_t volume_size, uint64_t segment_size);

  uint64_t volume_size() const { return volume_size_; }
  size_t count() const { return starts_.size(); }
  uint64_t Start(size_t i) const { return starts_[i]; }
  uint64_t End(size_t i) const { return i + 1 < starts_.size() ? starts_[i + 1] : volume_size_; }
  // A segment no worker took yet; count() or more once none is left.
  size_t Take() { return next_++; }

 private:
  const uint64_t volume_size_;
  std::vector<uint64_t> starts_;
  std::atomic<size_t> next_{0};
};

// The data extent a thread last asked the source about.
struct ExtentCache {
  Extent data{0, 0};   // NextData() of the last query
  uint64_t query = 0;  // the offset that query asked about
  bool valid = false;
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
  ~ReadAhead();

  // Starts reading [offset, offset + len) into dst; nothing may be in flight.
  void Start(uint64_t offset, uint8_t* dst, size_t len);
  // Waits for the read started last and returns how it went.
  Status Wait();

  bool pending() const { return pending_; }
  uint64_t offset() const { return offset_; }
  uint64_t end() const { return offset_ + len_; }
  uint8_t* dst() const { return dst_; }

 private:
  struct Job {
    uint64_t offset;
    uint8_t* dst;
    size_t len;
  };

  void Loop();

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

// One worker's view of the source: the bytes [offset(), end()) at data(),
// in one of two buffers; the read ahead fills the other one. It reuses both
// across the segments the worker takes.
class ReadWindow {
 public:
  // `max_chunk`: the chunker's largest chunk. `read_ahead`: how many bytes
  // to read ahead of the window, a multiple of kDirectBlock; 0: none.
  ReadWindow(VolumeReader& source, Segments& segments, size_t max_chunk, size_t read_ahead);

  // The segment the worker cuts next: the one taken early to read its start
  // ahead, else a new one from `segments`.
  size_t TakeSegment();

  const uint8_t* data() const { return window_; }
  uint64_t offset() const { return offset_; }
  uint64_t end() const { return offset_ + size_; }
  bool Holds(uint64_t pos, size_t need) const { return pos >= offset_ && end() >= pos + need; }

  // Makes the window hold [pos, pos + need) (`need` ends at `segment_end`
  // at most) and starts reading ahead what follows it in the segment, or
  // the start of the worker's next segment. Errors are the source's.
  Status Refill(uint64_t pos, size_t need, uint64_t segment_end);
  // Where the source holds data from `offset` on (VolumeReader::NextData),
  // from the worker's cache of the last answer where it still holds.
  Result<Extent> DataAt(uint64_t offset);
  // How many times the window continued with bytes read ahead.
  uint64_t read_ahead_used() const { return read_ahead_used_; }

 private:
  void AllocateBuffers();
  // Whether the read in flight holds what comes after pos's window (or the
  // start of the next segment).
  bool ReadAheadHolds(uint64_t pos) const;
  // `base`: the first byte of the window that stays.
  Status MoveToReadAhead(uint64_t pos, uint64_t base);
  Status ReadHere(uint64_t pos, uint64_t base, uint64_t segment_end);
  void StartReadAhead(uint64_t segment_end);

  VolumeReader& source_;
  Segments& segments_;
  // Both buffers start with room for what a window keeps when it moves on
  // (less than a whole chunk and a zero run's lookahead, from pos's 4 KiB
  // block on), then room for a read ahead.
  const size_t keep_room_;
  const size_t read_ahead_;
  Buffer buffers_[2];
  int current_ = 0;  // the buffer that holds the window
  uint8_t* window_ = nullptr;
  size_t size_ = 0;
  uint64_t offset_ = 0;
  uint64_t read_ahead_used_ = 0;
  ExtentCache extent_;                  // the worker's
  ExtentCache ahead_extent_;            // the read ahead's
  std::optional<size_t> next_segment_;  // taken early, to read its start ahead
  ReadAhead ahead_;                     // last: stops before the buffers go
};

}  // namespace coffer
