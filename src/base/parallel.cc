#include "base/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace coffer {

Status ForEachIndex(size_t n, size_t max_threads, size_t min_per_thread,
                    const std::function<Status(size_t)>& step) {
  const size_t per = std::max<size_t>(min_per_thread, 1);
  const size_t threads =
      std::clamp<size_t>((n + per - 1) / per, 1, std::max<size_t>(max_threads, 1));
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first;
  auto fail = [&](Error e) {
    std::lock_guard lock(mu);
    if (!first) first = std::move(e);
    next = n;  // the others stop before their next step
  };
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      Status st;
      try {
        st = step(i);
      } catch (const std::exception& e) {
        st = MakeError(ErrorCode::kInternal, std::string("unexpected exception: ") + e.what());
      }
      if (!st) {
        fail(st.error());
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the started ones and this one do it all
    }
  }
  work();
  for (auto& t : pool) t.join();
  if (first) return std::unexpected(*first);
  return {};
}

}  // namespace coffer
