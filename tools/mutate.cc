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

// Places writes of block ranges without overlaps, from one random stream.
class Placer {
 public:
  Placer(uint64_t blocks, uint64_t seed)
      : blocks_(blocks), rng_(SubSeed(seed, kMutatePlan, 0)), occ_(blocks) {}

  // Contiguous rewrites, log-uniform 64 KiB ... 2 MiB, anywhere in the image.
  void PlaceExtents(uint64_t budget) {
    const double lo = std::log(double(kMinRewrite)), hi = std::log(double(kMaxRewrite));
    while (budget > 0) {
      uint64_t len = uint64_t(std::exp(lo + (hi - lo) * rng_.Unit()));
      len = std::clamp<uint64_t>(len, 1, std::min(budget, blocks_));
      uint64_t start = 0;
      bool placed = false;
      for (int attempt = 0; attempt < 32 && !placed; ++attempt) {
        start = rng_.Below(blocks_ - len + 1);
        placed = occ_.TryTake(start, len);
      }
      if (!placed) std::tie(start, len) = occ_.TakeFirstFree(rng_.Below(blocks_), len);
      if (len == 0) return;  // the whole image is taken
      writes_.push_back({start, len, false});
      budget -= len;
    }
  }

  // Single blocks in 3-5 hot zones of 1/64 of the image (1 MiB ... 64 MiB)
  // each, taking turns. Returns the number of zones.
  size_t PlaceScattered(uint64_t budget) {
    if (budget == 0) return 0;
    const uint64_t zone_len = std::min(std::clamp<uint64_t>(blocks_ / 64, 256, 16384), blocks_);
    std::vector<uint64_t> zones(3 + rng_.Below(3));
    for (auto& z : zones) z = rng_.Below(blocks_ - zone_len + 1);
    for (uint64_t i = 0; i < budget; ++i) {
      const uint64_t base = zones[i % zones.size()];
      uint64_t start = 0, len = 1;
      bool placed = false;
      for (int attempt = 0; attempt < 32 && !placed; ++attempt) {
        start = base + rng_.Below(zone_len);
        placed = occ_.TryTake(start, 1);
      }
      if (!placed) std::tie(start, len) = occ_.TakeFirstFree(base, 1);
      if (len == 0) break;
      writes_.push_back({start, 1, true});
    }
    return zones.size();
  }

  // The writes in bytes (the last block clipped to `size`), in offset order.
  MutationPlan Finish(uint64_t size, size_t hot_zones) {
    MutationPlan plan;
    plan.hot_zones = hot_zones;
    for (const BlockWrite& b : writes_) {
      MutationWrite w;
      w.offset = b.start * kBlock;
      w.length = std::min(b.len * kBlock, size - w.offset);
      w.text = rng_.Below(2) == 0;
      w.scattered = b.scattered;
      plan.writes.push_back(w);
      plan.bytes += w.length;
      (w.scattered ? plan.scattered_blocks : plan.extents) += 1;
    }
    std::sort(plan.writes.begin(), plan.writes.end(),
              [](const MutationWrite& a, const MutationWrite& b) { return a.offset < b.offset; });
    return plan;
  }

 private:
  struct BlockWrite {
    uint64_t start, len;
    bool scattered;
  };
  uint64_t blocks_;
  Xoshiro256 rng_;
  Occupancy occ_;
  std::vector<BlockWrite> writes_;
};

}  // namespace

MutationPlan PlanMutation(uint64_t size, double percent, uint64_t seed) {
  const uint64_t blocks = (size + kBlock - 1) / kBlock;
  if (blocks == 0 || !(percent > 0)) return {};
  uint64_t budget = uint64_t(std::llround(double(blocks) * std::min(percent, 100.0) / 100.0));
  budget = std::clamp<uint64_t>(budget, 1, blocks);
  const uint64_t scattered = budget / 4;
  Placer placer(blocks, seed);
  placer.PlaceExtents(budget - scattered);
  const size_t zones = placer.PlaceScattered(scattered);
  return placer.Finish(size, zones);
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
