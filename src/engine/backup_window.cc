#include "engine/backup_window.h"

#include <algorithm>
#include <cstring>

#include "base/direct_io.h"
#include "core/chunker/zero_runs.h"

namespace coffer {
namespace {

Result<Extent> DataAt(VolumeReader& source, uint64_t offset, ExtentCache& cache) {
  // The answer holds for offsets from the query on: [query, data.offset) is
  // a hole, then the data. Fill looks ahead of the chunk position, so a later
  // question may be about an offset before the cached query — asked anew.
  if (cache.valid && offset >= cache.query) {
    if (offset < cache.data.offset + cache.data.length) return cache.data;
    if (cache.data.length == 0) return cache.data;  // only holes after the query
  }
  COFFER_ASSIGN_OR_RETURN(cache.data, source.NextData(offset));
  cache.query = offset;
  cache.valid = true;
  return cache.data;
}

// Fills dst with the source bytes [offset, offset+len): holes as zeros
// without reading them.
Status Fill(VolumeReader& source, uint64_t offset, uint8_t* dst, size_t len, ExtentCache& cache) {
  while (len > 0) {
    COFFER_ASSIGN_OR_RETURN(Extent data, DataAt(source, offset, cache));
    if (data.length == 0 || data.offset > offset) {
      uint64_t hole_end = data.length == 0 ? offset + len : data.offset;
      size_t n = size_t(std::min<uint64_t>(len, hole_end - offset));
      std::memset(dst, 0, n);
      offset += n, dst += n, len -= n;
      continue;
    }
    size_t n = size_t(std::min<uint64_t>(len, data.offset + data.length - offset));
    COFFER_RETURN_IF_ERROR(source.ReadAt(offset, dst, n));
    offset += n, dst += n, len -= n;
  }
  return {};
}

// Whether reading [offset, offset + len) may wait for the source: the
// first run of data in it is not all in the page cache. Holes read as zeros
// without waiting, and what the page cache holds is best copied by the
// worker when its window needs it: a copy made ahead by another thread,
// maybe on another core, would only be read back from there.
bool MayWait(VolumeReader& source, uint64_t offset, size_t len, ExtentCache& cache) {
  Result<Extent> data = DataAt(source, offset, cache);
  if (!data) return true;  // the read will say what is wrong
  const uint64_t from = std::max(offset, data->offset);
  const uint64_t to = std::min(offset + len, data->offset + data->length);
  return from < to && source.MayWait(from, to - from);
}

}  // namespace

Segments::Segments(uint64_t volume_size, uint64_t segment_size) : volume_size_(volume_size) {
  const uint64_t seg = segment_size ? segment_size : std::max<uint64_t>(volume_size, 1);
  for (uint64_t s = 0; s < volume_size; s += seg) starts_.push_back(s);
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadAhead::Start(uint64_t offset, uint8_t* dst, size_t len) {
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

Status ReadAhead::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return done_.has_value(); });
  pending_ = false;
  Status st = std::move(*done_);
  done_.reset();
  return st;
}

void ReadAhead::Loop() {
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

ReadWindow::ReadWindow(VolumeReader& source, Segments& segments, size_t max_chunk,
                       size_t read_ahead)
    : source_(source),
      segments_(segments),
      keep_room_(max_chunk + kMinZeroRun + kDirectBlock),
      read_ahead_(read_ahead),
      ahead_([this](uint64_t offset, uint8_t* dst, size_t len) {
        return Fill(source_, offset, dst, len, ahead_extent_);
      }) {}

size_t ReadWindow::TakeSegment() {
  const size_t i = next_segment_ ? *next_segment_ : segments_.Take();
  next_segment_.reset();
  return i;
}

Result<Extent> ReadWindow::DataAt(uint64_t offset) {
  return coffer::DataAt(source_, offset, extent_);
}

Status ReadWindow::Refill(uint64_t pos, size_t need, uint64_t segment_end) {
  if (buffers_[0].capacity() == 0) AllocateBuffers();
  // The window's bytes from pos's block on (or from its start) stay.
  const uint64_t base = std::max(DirectRoundDown(pos), offset_);
  if (ReadAheadHolds(pos)) COFFER_RETURN_IF_ERROR(MoveToReadAhead(pos, base));
  if (!Holds(pos, need)) COFFER_RETURN_IF_ERROR(ReadHere(pos, base, segment_end));
  if (read_ahead_ != 0 && !ahead_.pending()) StartReadAhead(segment_end);
  return {};
}

// 2 MiB of read ahead by default: direct reads of 1 MiB already run at a
// disk's speed, and with 4 MiB the windows of a backup whose uploads lag
// (cold, onto the same disk) lifted its peak memory above the 74 MiB that
// opening the key slot takes, to 77-79 MiB.
void ReadWindow::AllocateBuffers() {
  // Without a read ahead, the window's own reads are as large.
  buffers_[0] = Buffer(keep_room_ + (read_ahead_ ? read_ahead_ : size_t(4) << 20));
  if (read_ahead_) buffers_[1] = Buffer(keep_room_ + read_ahead_);
  current_ = 0;
  window_ = buffers_[0].data();
  size_ = 0;
}

bool ReadWindow::ReadAheadHolds(uint64_t pos) const {
  return ahead_.pending() && pos < ahead_.end() &&
         (DirectRoundDown(pos) >= ahead_.offset() || (ahead_.offset() == end() && pos >= offset_));
}

// The window moves to the read ahead's buffer. What it keeps goes just
// before the bytes read ahead: fewer than a chunk, which a refill without it
// would move as well, and then wait for the read.
Status ReadWindow::MoveToReadAhead(uint64_t pos, uint64_t base) {
  COFFER_RETURN_IF_ERROR(ahead_.Wait());
  const uint64_t block = DirectRoundDown(pos);
  const uint64_t win_end = end();
  uint8_t* next = ahead_.dst();
  if (block >= ahead_.offset()) {
    window_ = next + (block - ahead_.offset());
    offset_ = block;
    size_ = size_t(ahead_.end() - block);
  } else {
    const size_t keep = size_t(win_end - base);
    std::memcpy(next - keep, window_ + (base - offset_), keep);
    window_ = next - keep;
    offset_ = base;
    size_ = keep + size_t(ahead_.end() - win_end);
  }
  current_ = 1 - current_;
  ++read_ahead_used_;
  return {};
}

// No read ahead, or not enough of one: move what stays to the start of the
// window's buffer and read the rest here. A read ahead that the worker
// skipped past (a hole) is waited for first: its buffer is the next one's.
Status ReadWindow::ReadHere(uint64_t pos, uint64_t base, uint64_t segment_end) {
  if (ahead_.pending()) (void)ahead_.Wait();
  Buffer& buf = buffers_[current_];
  const uint64_t win_end = end();
  if (pos < offset_ || pos >= win_end) {
    offset_ = DirectRoundDown(pos);
    size_ = 0;
  } else {
    const size_t keep = size_t(win_end - base);
    std::memmove(buf.data(), window_ + (base - offset_), keep);
    offset_ = base;
    size_ = keep;
  }
  window_ = buf.data();
  const uint64_t from = end();
  const size_t n = size_t(std::min<uint64_t>(buf.capacity() - size_, segment_end - from));
  COFFER_RETURN_IF_ERROR(Fill(source_, from, window_ + size_, n, extent_));
  size_ += n;
  return {};
}

// Reads what follows while this window is cut, into the other buffer, at
// its offset's distance from a 4 KiB boundary so that whole blocks are read
// straight into it; the read ends on a block boundary. Once the window
// reaches the segment's end, what follows is the start of the segment this
// worker takes next, which it takes now.
void ReadWindow::StartReadAhead(uint64_t segment_end) {
  uint64_t from = end(), to = segment_end;
  if (from >= segment_end) {
    if (!next_segment_) next_segment_ = segments_.Take();
    from = to = 0;
    if (*next_segment_ < segments_.count()) {
      from = segments_.Start(*next_segment_);
      to = segments_.End(*next_segment_);
    }
  }
  const size_t len = size_t(std::min<uint64_t>(read_ahead_ - from % kDirectBlock, to - from));
  // The read ahead's own extent cache: it is idle until Start, and the
  // worker's stays where the worker is.
  if (from < to && MayWait(source_, from, len, ahead_extent_)) {
    ahead_.Start(from, buffers_[1 - current_].data() + keep_room_ + from % kDirectBlock, len);
  }
}

}  // namespace coffer
