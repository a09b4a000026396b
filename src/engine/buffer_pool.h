// A fixed number of reusable buffers and a closable hand-off queue: together
// they bound the memory of the data path, whatever the volume size. A
// producer blocks in Acquire when every buffer is in flight.
//
// Thread safety: all methods may be called from any thread. Close() wakes
// every waiter; after it Acquire and Pop return nothing.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "base/bytes.h"

namespace coffer {

class BufferPool {
 public:
  explicit BufferPool(size_t count) {
    for (size_t i = 0; i < count; ++i) free_.emplace_back();
  }

  // A buffer with capacity >= `capacity`, or nothing once closed.
  std::optional<Buffer> Acquire(size_t capacity) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !free_.empty(); });
    if (closed_) return std::nullopt;
    Buffer b = std::move(free_.back());
    free_.pop_back();
    lock.unlock();
    b.Reserve(capacity);
    b.set_size(0);
    return b;
  }

  void Release(Buffer b) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(b));
    }
    cv_.notify_one();
  }

  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Buffer> free_;
  bool closed_ = false;
};

template <typename T>
class WorkQueue {
 public:
  void Push(T item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  // The next item; nothing once the queue is closed and drained.
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // No more pushes; Pop drains what is queued, then returns nothing.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace coffer
