#include "base/open_files.h"

#include <sys/resource.h>

#include <algorithm>

namespace coffer {

uint64_t RaiseOpenFileLimit() {
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  const rlim_t want = std::min<rlim_t>(lim.rlim_max, rlim_t(kOpenFileLimitCap));
  if (lim.rlim_cur < want) {
    struct rlimit raised = lim;
    raised.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return uint64_t(lim.rlim_cur);
}

}  // namespace coffer
