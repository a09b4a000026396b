#include "volume/nbd/nbd_volume.h"

#include <libnbd.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "base/shared_library.h"
#include "volume/connection_pool.h"

namespace coffer {
namespace {

// The libnbd functions this file calls, bound on first use: the library
// is loaded then, not at start-up (base/shared_library.h says why), by the
// soname of the one these headers came with (cmake/LoadedLibrary.cmake).
// clang-format off
#define COFFER_NBD_FUNCTIONS(X) \
  X(nbd_add_meta_context)       \
  X(nbd_aio_connect_uri)        \
  X(nbd_aio_get_fd)             \
  X(nbd_aio_is_connecting)      \
  X(nbd_aio_is_ready)           \
  X(nbd_block_status)           \
  X(nbd_can_flush)              \
  X(nbd_can_meta_context)       \
  X(nbd_can_zero)               \
  X(nbd_close)                  \
  X(nbd_connect_uri)            \
  X(nbd_create)                 \
  X(nbd_flush)                  \
  X(nbd_get_block_size)         \
  X(nbd_get_errno)              \
  X(nbd_get_error)              \
  X(nbd_get_size)               \
  X(nbd_is_read_only)           \
  X(nbd_poll)                   \
  X(nbd_pread)                  \
  X(nbd_pwrite)                 \
  X(nbd_shutdown)               \
  X(nbd_zero)
// clang-format on

COFFER_LIBRARY_FUNCTIONS(Nbd, COFFER_NBD_FUNCTIONS);

LibraryTable<Nbd> libnbd(COFFER_LIBNBD_SONAME, COFFER_LIBNBD_PACKAGE, "NBD volumes");

// NBD servers refuse requests above their maximum block size (32 MiB is the
// usual limit); larger reads and writes are split.
constexpr uint64_t kDefaultMaxRequest = uint64_t(32) << 20;
// A block status query covers at most this much (the protocol's count is 32 bits).
constexpr uint64_t kMaxStatusSpan = uint64_t(1) << 30;

Error NbdError(const std::string& what) {
  int err = libnbd->nbd_get_errno();
  const char* msg = libnbd->nbd_get_error();
  std::string m = what + ": " + (msg ? msg : "unknown libnbd error");
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENOTCONN:
    case EPIPE:
    case EAGAIN:
      code = ErrorCode::kUnavailable;
      break;
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case EINVAL:
      code = ErrorCode::kInvalidArgument;
      break;
    case EPERM:
    case EACCES:
    case EROFS:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      code = ErrorCode::kResourceExhausted;
      break;
    default:
      break;
  }
  return Error(code, m);
}

// One connected handle, and its socket (for NbdWatch).
struct NbdConn {
  nbd_handle* h = nullptr;
  int fd = -1;
  ~NbdConn() {
    if (h != nullptr) {
      libnbd->nbd_shutdown(h, 0);
      libnbd->nbd_close(h);
    }
  }
};

// Ends a call that waits on a server that does not answer. libnbd's calls
// block without a timeout, and a blocked call holds its handle, so neither
// a cancel nor a timeout could reach it; instead each call registers its
// connection's socket, and a watchdog thread shuts the socket down when
// the job is cancelled or the call has waited longer than the timeout. The
// call then fails at once, and the connection is discarded.
class NbdWatch {
 public:
  enum class Cut { kNone, kCancelled, kTimedOut };

  NbdWatch(const std::atomic<bool>* cancel, std::chrono::seconds timeout)
      : cancel_(cancel), timeout_(timeout), thread_([this] { Loop(); }) {}
  ~NbdWatch() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  std::chrono::seconds timeout() const { return timeout_; }

  uint64_t Begin(int fd) {
    std::lock_guard lock(mu_);
    calls_[++next_] = Call{fd, std::chrono::steady_clock::now(), Cut::kNone};
    return next_;
  }
  // Whether the call was cut, and why.
  Cut End(uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(id);
    Cut cut = it == calls_.end() ? Cut::kNone : it->second.cut;
    if (it != calls_.end()) calls_.erase(it);
    return cut;
  }

 private:
  struct Call {
    int fd;
    std::chrono::steady_clock::time_point started;
    Cut cut;
  };

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      const auto now = std::chrono::steady_clock::now();
      const bool cancel = cancelled();
      for (auto& [id, c] : calls_) {
        if (c.cut != Cut::kNone) continue;
        if (cancel) {
          c.cut = Cut::kCancelled;
        } else if (now - c.started > timeout_) {
          c.cut = Cut::kTimedOut;
        } else {
          continue;
        }
        ::shutdown(c.fd, SHUT_RDWR);
      }
    }
  }

  const std::atomic<bool>* cancel_;
  const std::chrono::seconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Call> calls_;
  uint64_t next_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// Connects without blocking past a cancel or the timeout: the NBD
// handshake of a server that accepted the connection but does not answer
// would otherwise wait forever.
Result<std::unique_ptr<NbdConn>> Connect(const std::string& uri, const NbdWatch& watch) {
  COFFER_RETURN_IF_ERROR(libnbd.Load());
  auto c = std::make_unique<NbdConn>();
  c->h = libnbd->nbd_create();
  if (c->h == nullptr) return std::unexpected(NbdError("creating an NBD handle"));
  if (libnbd->nbd_add_meta_context(c->h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1) {
    return std::unexpected(NbdError("requesting base:allocation from " + uri));
  }
  if (libnbd->nbd_aio_connect_uri(c->h, uri.c_str()) == -1) {
    return std::unexpected(NbdError("connecting to NBD export " + uri));
  }
  const auto deadline = std::chrono::steady_clock::now() + watch.timeout();
  while (libnbd->nbd_aio_is_connecting(c->h) == 1) {
    if (watch.cancelled()) return Cancelled("connecting to NBD export " + uri + " was cancelled");
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("NBD export " + uri +
                         ": the server did not complete the handshake within " +
                         std::to_string(watch.timeout().count()) + " s");
    }
    if (libnbd->nbd_poll(c->h, 100) == -1) {
      return std::unexpected(NbdError("connecting to NBD export " + uri));
    }
  }
  if (libnbd->nbd_aio_is_ready(c->h) != 1) {
    return std::unexpected(NbdError("connecting to NBD export " + uri));
  }
  c->fd = libnbd->nbd_aio_get_fd(c->h);
  return c;
}

// What every connection of one volume shares.
class NbdVolume {
 public:
  NbdVolume(std::string uri, std::unique_ptr<NbdWatch> watch, std::unique_ptr<NbdConn> first,
            const NbdOptions& options)
      : uri_(std::move(uri)),
        watch_(std::move(watch)),
        size_(uint64_t(libnbd->nbd_get_size(first->h))),
        has_status_(libnbd->nbd_can_meta_context(first->h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1),
        can_zero_(libnbd->nbd_can_zero(first->h) == 1),
        can_flush_(libnbd->nbd_can_flush(first->h) == 1),
        read_only_(libnbd->nbd_is_read_only(first->h) == 1) {
    int64_t max = libnbd->nbd_get_block_size(first->h, LIBNBD_SIZE_MAXIMUM);
    max_request_ =
        max > 0 ? std::min<uint64_t>(uint64_t(max), kDefaultMaxRequest) : kDefaultMaxRequest;
    pool_ = std::make_unique<ConnectionPool<NbdConn>>(
        [uri = uri_, watch = watch_.get()] { return Connect(uri, *watch); },
        options.max_connections, std::move(first));
  }

  const std::string& uri() const { return uri_; }
  uint64_t size() const { return size_; }
  bool read_only() const { return read_only_; }

  Status Read(uint64_t offset, uint8_t* out, size_t len) {
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    for (size_t done = 0; done < len;) {
      size_t n = size_t(std::min<uint64_t>(len - done, max_request_));
      COFFER_RETURN_IF_ERROR(Watched(lease, "reading " + Where(offset + done), [&](nbd_handle* h) {
        return libnbd->nbd_pread(h, out + done, n, offset + done, 0);
      }));
      done += n;
    }
    return {};
  }

  Status Write(uint64_t offset, ByteView data) {
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    for (size_t done = 0; done < data.size();) {
      size_t n = size_t(std::min<uint64_t>(data.size() - done, max_request_));
      COFFER_RETURN_IF_ERROR(Watched(lease, "writing " + Where(offset + done), [&](nbd_handle* h) {
        return libnbd->nbd_pwrite(h, data.data() + done, n, offset + done, 0);
      }));
      done += n;
    }
    return {};
  }

  Status Zero(uint64_t offset, uint64_t len) {
    if (!can_zero_) {
      static const std::vector<uint8_t> zeros(size_t(1) << 20, 0);
      for (uint64_t done = 0; done < len;) {
        size_t n = size_t(std::min<uint64_t>(len - done, zeros.size()));
        COFFER_RETURN_IF_ERROR(Write(offset + done, ByteView(zeros.data(), n)));
        done += n;
      }
      return {};
    }
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    for (uint64_t done = 0; done < len;) {
      uint64_t n = std::min<uint64_t>(len - done, kMaxStatusSpan);
      COFFER_RETURN_IF_ERROR(Watched(lease, "zeroing " + Where(offset + done), [&](nbd_handle* h) {
        return libnbd->nbd_zero(h, n, offset + done, 0);
      }));
      done += n;
    }
    return {};
  }

  Status Flush() {
    if (!can_flush_) return {};
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    return Watched(lease, "flushing " + uri_,
                   [](nbd_handle* h) { return libnbd->nbd_flush(h, 0); });
  }

  // DESIGN §1: holes are not even read. An extent is skipped when the
  // server says it reads as zeros (NBD_STATE_ZERO), hole or not.
  Result<Extent> NextData(uint64_t offset) {
    if (offset >= size_) return Extent{size_, 0};
    if (!has_status_) return Extent{offset, size_ - offset};
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    uint64_t pos = offset;
    std::optional<uint64_t> data_start;
    while (pos < size_) {
      struct Seen {
        std::vector<std::pair<uint64_t, uint32_t>> extents;  // length, flags
      } seen;
      nbd_extent_callback cb;
      cb.callback = [](void* user, const char* context, uint64_t, uint32_t* entries, size_t n,
                       int*) -> int {
        if (std::string_view(context) != LIBNBD_CONTEXT_BASE_ALLOCATION) return 0;
        auto* s = static_cast<Seen*>(user);
        for (size_t i = 0; i + 1 < n; i += 2) s->extents.emplace_back(entries[i], entries[i + 1]);
        return 0;
      };
      cb.user_data = &seen;
      cb.free = nullptr;
      uint64_t span = std::min<uint64_t>(size_ - pos, kMaxStatusSpan);
      COFFER_RETURN_IF_ERROR(
          Watched(lease, "querying the allocation of " + Where(pos),
                  [&](nbd_handle* h) { return libnbd->nbd_block_status(h, span, pos, cb, 0); }));
      if (seen.extents.empty()) {
        return Internal("NBD server of " + uri_ + " sent no extents at offset " +
                        std::to_string(pos));
      }
      for (const auto& [length, flags] : seen.extents) {
        if (length == 0) {
          return Internal("NBD server of " + uri_ + " sent an empty extent at offset " +
                          std::to_string(pos));
        }
        bool zero = (flags & LIBNBD_STATE_ZERO) != 0;
        if (data_start && zero) return Extent{*data_start, pos - *data_start};
        if (!data_start && !zero) data_start = pos;
        pos = std::min<uint64_t>(pos + length, size_);
        if (pos >= size_) break;
      }
      // Data up to here is enough of an answer: the caller asks again at its end.
      if (data_start) return Extent{*data_start, pos - *data_start};
    }
    if (data_start) return Extent{*data_start, size_ - *data_start};
    return Extent{size_, 0};
  }

 private:
  using Lease = ConnectionPool<NbdConn>::Lease;

  std::string Where(uint64_t offset) const { return uri_ + " at offset " + std::to_string(offset); }

  // Runs `call` on the lease's handle under the watch. A call the watch cut
  // fails as cancelled or unanswered; a connection that failed or was cut
  // is discarded.
  template <typename Call>
  Status Watched(Lease& lease, const std::string& what, Call call) {
    const uint64_t id = watch_->Begin(lease->fd);
    const int rc = call(lease->h);
    const NbdWatch::Cut cut = watch_->End(id);
    if (rc != -1) {
      if (cut != NbdWatch::Cut::kNone) lease.Discard();  // its socket is shut
      return {};
    }
    Error e = NbdError(what);
    if (cut == NbdWatch::Cut::kCancelled) e = Error(ErrorCode::kCancelled, what + ": cancelled");
    if (cut == NbdWatch::Cut::kTimedOut) {
      e = Error(ErrorCode::kUnavailable, what + ": the NBD server did not answer within " +
                                             std::to_string(watch_->timeout().count()) + " s");
    }
    lease.Discard();
    return std::unexpected(e);
  }

  std::string uri_;
  std::unique_ptr<NbdWatch> watch_;  // before pool_: its connections use it
  uint64_t size_;
  bool has_status_, can_zero_, can_flush_, read_only_;
  uint64_t max_request_ = kDefaultMaxRequest;
  std::unique_ptr<ConnectionPool<NbdConn>> pool_;
};

class NbdReader final : public VolumeReader {
 public:
  explicit NbdReader(std::unique_ptr<NbdVolume> v) : v_(std::move(v)) {}
  const std::string& name() const override { return v_->uri(); }
  uint64_t size() const override { return v_->size(); }
  Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
    return v_->Read(offset, out, len);
  }
  Result<Extent> NextData(uint64_t offset) override { return v_->NextData(offset); }

 private:
  std::unique_ptr<NbdVolume> v_;
};

class NbdWriter final : public VolumeWriter {
 public:
  explicit NbdWriter(std::unique_ptr<NbdVolume> v) : v_(std::move(v)) {}
  const std::string& name() const override { return v_->uri(); }
  Status WriteAt(uint64_t offset, ByteView data) override { return v_->Write(offset, data); }
  Status WriteZeros(uint64_t offset, uint64_t len) override { return v_->Zero(offset, len); }
  Status Commit() override { return v_->Flush(); }

 private:
  std::unique_ptr<NbdVolume> v_;
};

Result<std::unique_ptr<NbdVolume>> OpenVolume(const std::string& uri, const NbdOptions& options) {
  COFFER_RETURN_IF_ERROR(libnbd.Load());
  auto watch = std::make_unique<NbdWatch>(options.cancel, options.timeout);
  COFFER_ASSIGN_OR_RETURN(auto first, Connect(uri, *watch));
  if (libnbd->nbd_get_size(first->h) < 0)
    return std::unexpected(NbdError("reading the size of " + uri));
  return std::make_unique<NbdVolume>(uri, std::move(watch), std::move(first), options);
}

}  // namespace

Result<std::unique_ptr<VolumeReader>> OpenNbdVolume(const std::string& uri,
                                                    const NbdOptions& options) {
  COFFER_ASSIGN_OR_RETURN(auto v, OpenVolume(uri, options));
  return std::unique_ptr<VolumeReader>(new NbdReader(std::move(v)));
}

Result<std::unique_ptr<VolumeWriter>> OpenNbdVolumeForRestore(const std::string& uri, uint64_t size,
                                                              const NbdOptions& options) {
  COFFER_ASSIGN_OR_RETURN(auto v, OpenVolume(uri, options));
  if (v->read_only()) return PermissionDenied("NBD export " + uri + " is read-only");
  if (v->size() < size) {
    return InvalidArgument("NBD export " + uri + " holds " + std::to_string(v->size()) +
                           " bytes, less than the backup's " + std::to_string(size));
  }
  return std::unique_ptr<VolumeWriter>(new NbdWriter(std::move(v)));
}

}  // namespace coffer
