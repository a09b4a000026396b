#include "base/direct_io.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace coffer {
namespace {

uint8_t* Scratch() {
  struct Buffer {
    uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(kDirectBlock, kDirectScratch));
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer b;
  return b.p;
}

// pwrite until all of buf[0..len) is written; len is a multiple of the block.
// `done` is how much of the caller's data went before (for messages, and to
// tell a refused O_DIRECT from a failure later on).
Result<bool> PwriteBlocks(int fd, const uint8_t* buf, size_t len, uint64_t offset, size_t done,
                          size_t total, const std::string& name) {
  for (size_t put = 0; put < len;) {
    ssize_t n = ::pwrite(fd, buf + put, len - put, off_t(offset + put));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && done + put == 0) return false;  // O_DIRECT refused
      return std::unexpected(ErrnoError(errno, "writing " + name));
    }
    if (n == 0 || size_t(n) % kDirectBlock != 0) {
      return std::unexpected(Error(ErrorCode::kResourceExhausted,
                                   "writing " + name + ": short write (" +
                                       std::to_string(done + put + size_t(n)) + " of " +
                                       std::to_string(total) + " bytes); is the disk full?"));
    }
    put += size_t(n);
  }
  return true;
}

}  // namespace

uint64_t CachePageSize() {
  static const uint64_t page =
      std::max<uint64_t>(kDirectBlock, uint64_t(std::max(0L, ::sysconf(_SC_PAGESIZE))));
  return page;
}

Result<bool> WriteDirect(int fd, uint64_t offset, ByteView data, const std::string& name) {
  if (data.empty()) return true;
  const size_t padded = size_t(DirectRoundUp(data.size()));
  // The whole blocks go straight from the caller's memory where it is
  // aligned; the rest (all of it otherwise) through the scratch buffer.
  size_t done = reinterpret_cast<uintptr_t>(data.data()) % kDirectBlock == 0
                    ? size_t(DirectRoundDown(data.size()))
                    : 0;
  uint8_t* buf = nullptr;
  if (done < padded && (buf = Scratch()) == nullptr) return false;
  if (done > 0) {
    auto put = PwriteBlocks(fd, data.data(), done, offset, 0, padded, name);
    if (!put || !*put) return put;
  }
  while (done < padded) {
    const size_t piece = std::min(kDirectScratch, padded - done);
    const size_t real = std::min(piece, data.size() - done);
    std::memcpy(buf, data.data() + done, real);
    std::memset(buf + real, 0, piece - real);
    auto put = PwriteBlocks(fd, buf, piece, offset + done, done, padded, name);
    if (!put || !*put) return put;
    done += piece;
  }
  return true;
}

namespace {

// cachestat(2), Linux 6.5; glibc 2.36 has no wrapper.
constexpr long kSysCachestat = 451;
struct CachestatRange {
  uint64_t off, len;
};
struct Cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
std::atomic<bool> cachestat_missing{false};

// cachestat of [offset, offset+length) of `fd`; false when the call fails,
// remembering a kernel without it.
bool CallCachestat(int fd, uint64_t offset, uint64_t length, Cachestat* stat) {
  if (cachestat_missing.load(std::memory_order_relaxed)) {
    errno = ENOSYS;
    return false;
  }
  CachestatRange range{offset, length};
  if (::syscall(kSysCachestat, fd, &range, stat, 0) == 0) return true;
  if (errno == ENOSYS) cachestat_missing = true;
  return false;
}

}  // namespace

bool IsCached(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) return false;
  const uint64_t page = CachePageSize();
  const uint64_t first = offset / page * page, end = offset + length;
  Cachestat stat{};
  return CallCachestat(fd, first, end - first, &stat) &&
         stat.nr_cache >= (end - first + page - 1) / page;
}

bool CacheStateKnown() {
  // A bad descriptor: EBADF where the call exists, ENOSYS (or a filter's
  // EPERM) where it does not.
  Cachestat stat{};
  return !CallCachestat(-1, 0, 1, &stat) && errno == EBADF;
}

size_t ReadCached(int fd, uint64_t offset, uint64_t length, uint8_t* out) {
  // Ask first: a read with RWF_NOWAIT alone starts read-ahead on a page
  // that is not cached before it gives up, which is the very I/O through
  // the cache this is here to avoid.
  if (!IsCached(fd, offset, length)) return 0;
  // All cached: copy it, still without waiting should a page go meanwhile.
  size_t done = 0;
  while (done < length) {
    iovec iov{out + done, size_t(length - done)};
    ssize_t n = ::preadv2(fd, &iov, 1, off_t(offset + done), RWF_NOWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // evicted meanwhile (EAGAIN), not supported, or the end
    done += size_t(n);
  }
  return done;
}

Result<bool> ReadDirect(int fd, uint64_t offset, uint64_t length, uint8_t* out,
                        const std::string& name) {
  const uint64_t end = offset + length;
  bool refusable = true;  // nothing read yet: EINVAL means O_DIRECT was refused
  constexpr size_t kRefused = ~size_t(0);
  // pread of [pos, pos + want) into `to`, block-aligned: the bytes read.
  auto read_blocks = [&](uint8_t* to, uint64_t pos, size_t want) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::pread(fd, to, want, off_t(pos));
      if (n >= 0) {
        refusable = false;
        return size_t(n);
      }
      if (errno == EINTR) continue;
      if (errno == EINVAL && refusable) return kRefused;
      return std::unexpected(ErrnoError(errno, "reading " + name));
    }
  };

  // The whole blocks go straight into `out` where it sits as far from a
  // block boundary as `offset` does; the partial blocks at either end (all
  // of it otherwise) through the scratch buffer.
  uint64_t straight_from = end, straight_to = end;
  if ((reinterpret_cast<uintptr_t>(out) - offset) % kDirectBlock == 0 &&
      DirectRoundUp(offset) < DirectRoundDown(end)) {
    straight_from = DirectRoundUp(offset);
    straight_to = DirectRoundDown(end);
  }
  for (uint64_t pos = straight_from; pos < straight_to;) {
    COFFER_ASSIGN_OR_RETURN(size_t n,
                            read_blocks(out + (pos - offset), pos, size_t(straight_to - pos)));
    if (n == kRefused) return false;
    if (n == 0 || n % kDirectBlock != 0) return Corruption(name + " shrank while being read");
    pos += n;
  }

  uint8_t* buf = nullptr;
  // [offset, straight_from) and [straight_to, end): both empty, one, or
  // (when nothing went straight) the whole range as one.
  for (auto [from, to] : {std::pair{offset, straight_from}, std::pair{straight_to, end}}) {
    for (uint64_t pos = DirectRoundDown(from); pos < to;) {
      if (buf == nullptr && (buf = Scratch()) == nullptr) return false;
      const size_t want = size_t(std::min<uint64_t>(DirectRoundUp(to - pos), kDirectScratch));
      COFFER_ASSIGN_OR_RETURN(size_t n, read_blocks(buf, pos, want));
      if (n == kRefused) return false;
      // The part of [pos, pos+n) that the caller asked for.
      const uint64_t a = std::max(pos, from), b = std::min(pos + uint64_t(n), to);
      if (b > a) std::memcpy(out + (a - offset), buf + (a - pos), size_t(b - a));
      if (b >= to) break;
      if (n < want) return Corruption(name + " shrank while being read");
      pos += uint64_t(n);
    }
  }
  return true;
}

}  // namespace coffer
