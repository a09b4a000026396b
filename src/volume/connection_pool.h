// ConnectionPool: the connections of a network volume (iSCSI, NBD), so that
// several pipeline threads can read or write at once. A libiscsi context is
// not thread safe and a libnbd handle serializes its blocking calls, so each
// thread leases a connection of its own; a new one is opened on demand, up
// to `max` (further callers wait for a free one).
//
// A connection that failed an I/O is discarded rather than returned, so a
// broken session is never reused; the next lease opens a fresh one.
//
// Thread safety: Acquire and the leases may be used from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"

namespace coffer {

template <typename Conn>
class ConnectionPool {
 public:
  using Factory = std::function<Result<std::unique_ptr<Conn>>()>;

  // `first` is a connection the caller already opened (to learn the size).
  ConnectionPool(Factory factory, size_t max, std::unique_ptr<Conn> first)
      : factory_(std::move(factory)), max_(max < 1 ? 1 : max) {
    if (first) {
      idle_.push_back(std::move(first));
      open_ = 1;
    }
  }

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Return(std::move(conn_));
    }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }
    // Closes the connection instead of returning it (after an I/O error).
    void Discard() { conn_.reset(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    ++open_;  // reserve the slot, then connect without holding the lock
    lock.unlock();
    Result<std::unique_ptr<Conn>> c = factory_();
    if (!c) {
      Return(nullptr);
      return std::unexpected(c.error());
    }
    return Lease(this, std::move(*c));
  }

  // Every idle connection, for a final flush; call with no lease out.
  template <typename Fn>
  Status ForEachIdle(Fn&& fn) {
    std::lock_guard lock(mu_);
    for (auto& c : idle_) COFFER_RETURN_IF_ERROR(fn(*c));
    return {};
  }

 private:
  void Return(std::unique_ptr<Conn> conn) {
    {
      std::lock_guard lock(mu_);
      if (conn) {
        idle_.push_back(std::move(conn));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  Factory factory_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;
};

}  // namespace coffer
