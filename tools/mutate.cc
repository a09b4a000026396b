#include "mutate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <memory>

#include "file_io.h"
#include "image.h"
#include "log_text.h"
#include "prng.h"

namespace coffer::tools {
namespace {

enum Domain : uint64_t { kMutatePlan = 11, kMutateContent = 12 };

constexpr uint64_t kMinRewrite = (64 << 10) / kBlock;  // in blocks
constexpr uint64_t kMaxRewrite = (2 << 20) / kBlock;

// Disjoint block ranges [start, end) already taken.
class Occupancy {
 public:
  explicit Occupancy(uint64_t blocks) : blocks_(blocks) {}

  // Takes [start, start+len) if it is free.
  bool TryTake(uint64_t start, uint64_t len) {
    auto next = taken_.lower_bound(start);
    if (next != taken_.end() && next->first < start + len) return false;
    if (next != taken_.begin() && std::prev(next)->second > start) return false;
    taken_.emplace(start, start + len);
    return true;
  }

  // Takes up to `len` blocks of the first free gap at or after `from`
  // (wrapping around); returns the range taken, or len 0 when all is taken.
  std::pair<uint64_t, uint64_t> TakeFirstFree(uint64_t from, uint64_t len) {
    for (int pass = 0; pass < 2; ++pass) {
      uint64_t at = pass == 0 ? from : 0;
      auto it = taken_.upper_bound(at);
      if (it != taken_.begin() && std::prev(it)->second > at) at = std::prev(it)->second;
      while (at < blocks_) {
        uint64_t gap_end = it == taken_.end() ? blocks_ : it->first;
        if (gap_end > at) {
          uint64_t n = std::min(len, gap_end - at);
          taken_.emplace(at, at + n);
          return {at, n};
        }
        at = it->second;
        ++it;
      }
    }
    return {0, 0};
  }

 private:
  uint64_t blocks_;
  std::map<uint64_t, uint64_t> taken_;
};

}  // namespace

MutationPlan PlanMutation(uint64_t size, double percent, uint64_t seed) {
  MutationPlan plan;
  const uint64_t blocks = (size + kBlock - 1) / kBlock;
  if (blocks == 0 || !(percent > 0)) return plan;
  uint64_t budget = uint64_t(std::llround(double(blocks) * std::min(percent, 100.0) / 100.0));
  budget = std::clamp<uint64_t>(budget, 1, blocks);
  const uint64_t scattered_budget = budget / 4;
  uint64_t extent_budget = budget - scattered_budget;

  Xoshiro256 rng(SubSeed(seed, kMutatePlan, 0));
  Occupancy occ(blocks);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // (start, len) in blocks
  std::vector<bool> scattered;
  const double lo = std::log(double(kMinRewrite)), hi = std::log(double(kMaxRewrite));
  while (extent_budget > 0) {
    uint64_t len = uint64_t(std::exp(lo + (hi - lo) * rng.Unit()));
    len = std::clamp<uint64_t>(len, 1, std::min(extent_budget, blocks));
    uint64_t start = 0;
    bool placed = false;
    for (int attempt = 0; attempt < 32 && !placed; ++attempt) {
      start = rng.Below(blocks - len + 1);
      placed = occ.TryTake(start, len);
    }
    if (!placed) std::tie(start, len) = occ.TakeFirstFree(rng.Below(blocks), len);
    if (len == 0) break;  // the whole image is taken
    ranges.emplace_back(start, len);
    scattered.push_back(false);
    extent_budget -= len;
  }

  // Hot zones: a few windows of 1/64 of the image (1 MiB ... 64 MiB).
  const uint64_t zone = std::clamp<uint64_t>(blocks / 64, 256, 16384);
  const uint64_t zone_len = std::min(zone, blocks);
  plan.hot_zones = scattered_budget > 0 ? size_t(3 + rng.Below(3)) : 0;
  std::vector<uint64_t> zones;
  for (size_t z = 0; z < plan.hot_zones; ++z) zones.push_back(rng.Below(blocks - zone_len + 1));
  for (uint64_t i = 0; i < scattered_budget; ++i) {
    const uint64_t base = zones[i % zones.size()];
    uint64_t start = 0, len = 1;
    bool placed = false;
    for (int attempt = 0; attempt < 32 && !placed; ++attempt) {
      start = base + rng.Below(zone_len);
      placed = occ.TryTake(start, 1);
    }
    if (!placed) std::tie(start, len) = occ.TakeFirstFree(base, 1);
    if (len == 0) break;
    ranges.emplace_back(start, 1);
    scattered.push_back(true);
  }

  for (size_t i = 0; i < ranges.size(); ++i) {
    MutationWrite w;
    w.offset = ranges[i].first * kBlock;
    w.length = std::min(ranges[i].second * kBlock, size - w.offset);
    w.text = rng.Below(2) == 0;
    w.scattered = scattered[i];
    plan.writes.push_back(w);
    plan.bytes += w.length;
    (w.scattered ? plan.scattered_blocks : plan.extents) += 1;
  }
  std::sort(plan.writes.begin(), plan.writes.end(),
            [](const MutationWrite& a, const MutationWrite& b) { return a.offset < b.offset; });
  return plan;
}

Result<MutationPlan> MutateImage(const std::string& path, double percent, uint64_t seed) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError(errno, path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Error err = ErrnoError(errno, path);
    ::close(fd);
    return std::unexpected(err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": not a regular file");
  }
  MutationPlan plan = PlanMutation(uint64_t(st.st_size), percent, seed);
  LogTextPool pool(SubSeed(seed, kMutateContent, 0), 1024);
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(kMaxRewrite * kBlock);
  for (size_t i = 0; i < plan.writes.size(); ++i) {
    const MutationWrite& w = plan.writes[i];
    const uint64_t content_seed = SubSeed(seed, kMutateContent, i + 1);
    if (w.text) {
      LogTextStream(pool, content_seed).Fill(buf.get(), w.length);
    } else {
      Xoshiro256(content_seed).Fill(buf.get(), w.length);
    }
    if (Status s = PwriteAll(fd, buf.get(), w.length, w.offset, path); !s) {
      ::close(fd);
      return std::unexpected(s.error());
    }
  }
  if (::close(fd) != 0) return std::unexpected(ErrnoError(errno, path + " (close)"));
  return plan;
}

}  // namespace coffer::tools
