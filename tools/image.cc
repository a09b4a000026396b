#include "image.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include "file_io.h"
#include "log_text.h"
#include "prng.h"

namespace coffer::tools {
namespace {

// Sub-seed domains: each kind of decision draws from its own stream, so a
// change in one (say, the text pool) does not reshuffle the layout.
enum Domain : uint64_t { kLayout = 1, kKinds = 2, kPieces = 3, kContent = 4 };

constexpr size_t kIoBuffer = 8 << 20;

// Extent lengths, log-uniform in [kMinExtent, max], 4 KiB multiples. Small
// images get a smaller maximum so that even 1 MiB holds several extents.
std::vector<Extent> CutExtents(uint64_t size, uint64_t seed) {
  std::vector<Extent> extents;
  const uint64_t max_len = std::clamp(size / 32 / kBlock * kBlock, kMinExtent, kMaxExtent);
  const double lo = std::log(double(kMinExtent)), hi = std::log(double(max_len));
  Xoshiro256 rng(SubSeed(seed, kLayout, 0));
  for (uint64_t off = 0; off < size;) {
    uint64_t len = uint64_t(std::exp(lo + (hi - lo) * rng.Unit())) / kBlock * kBlock;
    len = std::min(std::max(len, kMinExtent), size - off);
    extents.push_back({off, len, ExtentKind::kRandom, {}});
    off += len;
  }
  return extents;
}

// Assigns kinds: the largest extents first, each to a kind drawn in
// proportion to how far that kind is below its target share; the small
// extents at the end then fill the remaining gaps precisely. The first
// extent is random data (a boot area), so every repeat has a source.
void AssignKinds(std::vector<Extent>& extents, uint64_t size, uint64_t seed) {
  if (extents.empty()) return;
  std::vector<size_t> order(extents.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin() + 1, order.end(),
                   [&](size_t a, size_t b) { return extents[a].length > extents[b].length; });
  std::array<double, kExtentKinds> deficit;
  for (size_t k = 0; k < kExtentKinds; ++k) deficit[k] = kComposition[k] * double(size);
  Xoshiro256 rng(SubSeed(seed, kKinds, 0));
  for (size_t i : order) {
    Extent& e = extents[i];
    size_t kind = 0;
    if (i != 0) {
      // Kinds that still have room for at least half of this extent.
      std::array<double, kExtentKinds> w{};
      double total = 0;
      for (size_t k = 0; k < kExtentKinds; ++k) {
        if (deficit[k] >= double(e.length) / 2) w[k] = deficit[k];
        total += w[k];
      }
      if (total > 0) {
        double r = rng.Unit() * total;
        while (kind + 1 < kExtentKinds && r >= w[kind]) r -= w[kind++];
      } else {
        kind = size_t(std::max_element(deficit.begin(), deficit.end()) - deficit.begin());
      }
    }
    e.kind = ExtentKind(kind);
    deficit[kind] -= double(e.length);
  }
}

// For every repeat extent, the earlier random or text ranges it copies.
void PlanPieces(std::vector<Extent>& extents, uint64_t seed) {
  std::vector<size_t> sources;  // indexes of earlier data extents
  for (size_t i = 0; i < extents.size(); ++i) {
    Extent& e = extents[i];
    if (e.kind == ExtentKind::kRepeat) {
      Xoshiro256 rng(SubSeed(seed, kPieces, i));
      for (uint64_t done = 0; done < e.length;) {
        const Extent& s = extents[sources[rng.Below(sources.size())]];
        uint64_t skip = rng.Below(s.length / kBlock / 2 + 1) * kBlock;
        uint64_t len = std::min(e.length - done, s.length - skip);
        e.pieces.push_back({s.offset + skip, len});
        done += len;
      }
    } else if (e.kind != ExtentKind::kZero) {
      sources.push_back(i);
    }
  }
}

class Writer {
 public:
  Writer(int fd, const std::string& path, uint64_t seed)
      : fd_(fd),
        path_(path),
        seed_(seed),
        buf_(std::make_unique_for_overwrite<uint8_t[]>(kIoBuffer)),
        pool_(seed) {}

  Status Write(const Extent& e, size_t index, bool sparse) {
    switch (e.kind) {
      case ExtentKind::kRandom: {
        Xoshiro256 rng(SubSeed(seed_, kContent, index));
        return Generate(e, [&](uint8_t* p, size_t n) { rng.Fill(p, n); });
      }
      case ExtentKind::kText: {
        LogTextStream text(pool_, SubSeed(seed_, kContent, index));
        return Generate(e, [&](uint8_t* p, size_t n) { text.Fill(p, n); });
      }
      case ExtentKind::kZero:
        if (sparse) return {};
        if (!zeros_) zeros_.reset(new uint8_t[kIoBuffer]());
        for (uint64_t done = 0; done < e.length;) {
          size_t n = size_t(std::min<uint64_t>(kIoBuffer, e.length - done));
          COFFER_RETURN_IF_ERROR(PwriteAll(fd_, zeros_.get(), n, e.offset + done, path_));
          done += n;
        }
        return {};
      case ExtentKind::kRepeat: {
        uint64_t at = e.offset;
        for (const Piece& p : e.pieces) {
          for (uint64_t done = 0; done < p.length;) {
            size_t n = size_t(std::min<uint64_t>(kIoBuffer, p.length - done));
            COFFER_RETURN_IF_ERROR(PreadAll(fd_, buf_.get(), n, p.source + done, path_));
            COFFER_RETURN_IF_ERROR(PwriteAll(fd_, buf_.get(), n, at, path_));
            done += n;
            at += n;
          }
        }
        return {};
      }
    }
    return Internal("unknown extent kind");
  }

 private:
  template <typename Fill>
  Status Generate(const Extent& e, Fill&& fill) {
    for (uint64_t done = 0; done < e.length;) {
      size_t n = size_t(std::min<uint64_t>(kIoBuffer, e.length - done));
      fill(buf_.get(), n);
      COFFER_RETURN_IF_ERROR(PwriteAll(fd_, buf_.get(), n, e.offset + done, path_));
      done += n;
    }
    return {};
  }

  int fd_;
  const std::string& path_;
  uint64_t seed_;
  std::unique_ptr<uint8_t[]> buf_;
  std::unique_ptr<uint8_t[]> zeros_;
  LogTextPool pool_;
};

}  // namespace

const char* ExtentKindName(ExtentKind kind) {
  switch (kind) {
    case ExtentKind::kRandom:
      return "random";
    case ExtentKind::kText:
      return "text";
    case ExtentKind::kZero:
      return "zeros";
    case ExtentKind::kRepeat:
      return "repeated";
  }
  return "?";
}

std::vector<Extent> PlanImage(uint64_t size, uint64_t seed) {
  std::vector<Extent> extents = CutExtents(size, seed);
  AssignKinds(extents, size, seed);
  PlanPieces(extents, seed);
  return extents;
}

Result<ImageStats> CreateImage(const std::string& path, uint64_t size, uint64_t seed, bool sparse) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Extent> extents = PlanImage(size, seed);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError(errno, path));
  // The size first: holes need it, and a full disk shows up here for sparse
  // images only when blocks are allocated, which is later.
  if (::ftruncate(fd, off_t(size)) != 0) {
    Error err = ErrnoError(errno, path + " (set size)");
    ::close(fd);
    return std::unexpected(err);
  }
  ImageStats stats;
  Writer writer(fd, path, seed);
  for (size_t i = 0; i < extents.size(); ++i) {
    if (Status s = writer.Write(extents[i], i, sparse); !s) {
      ::close(fd);
      return std::unexpected(s.error());
    }
    stats.bytes[size_t(extents[i].kind)] += extents[i].length;
  }
  stats.extents = extents.size();
  if (::close(fd) != 0) return std::unexpected(ErrnoError(errno, path + " (close)"));
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace coffer::tools
