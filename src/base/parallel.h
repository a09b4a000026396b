// Running a loop's independent steps on a few threads.
#pragma once

#include <cstddef>
#include <functional>

#include "base/error.h"

namespace coffer {

// Runs step(i) for every i < n and returns the first error; after an error
// no further step starts. The calling thread works too, joined by up to
// max_threads - 1 others, one for every min_per_thread steps beyond the
// first min_per_thread (a short loop stays on the caller). If a thread
// cannot be started, the ones that were do its share. An exception thrown
// by a step becomes a kInternal error. `step` must be safe to call from
// several threads at once.
Status ForEachIndex(size_t n, size_t max_threads, size_t min_per_thread,
                    const std::function<Status(size_t)>& step);

}  // namespace coffer
