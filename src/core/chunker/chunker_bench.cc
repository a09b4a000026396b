// Throughput of FastCdc::NextCut and IsAllZero on one core. Not a test: run
// it by hand on an otherwise idle machine.
//
//   chunker_bench [MiB of random data, default 256] [repetitions, default 5]
//
// Prints the best of the repetitions. "chunked" counts every input byte;
// "hashed" counts only the bytes the gear loop touches (each chunk's first
// min_size-64 bytes are skipped), which is the inner loop's own speed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/chunker/fastcdc.h"
#include "core/chunker/zero.h"

namespace {

using Clock = std::chrono::steady_clock;

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const size_t n = mib << 20;

  uint64_t seed = 42;
  coffer::GearTable gear;
  for (auto& g : gear) g = SplitMix64(&seed);
  std::vector<uint8_t> data(n);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = SplitMix64(&seed);
    std::memcpy(&data[i], &v, 8);
  }

  const coffer::ChunkerParams params;
  const coffer::FastCdc cdc(params, gear);
  double best = 1e9;
  size_t chunks = 0;
  size_t hashed = 0;
  for (int r = 0; r < reps; ++r) {
    chunks = 0;
    hashed = 0;
    const auto t0 = Clock::now();
    for (size_t off = 0; off < n;) {
      const size_t cut = cdc.NextCut(data.data() + off, n - off, true);
      if (cut > params.min_size) hashed += cut - (params.min_size - 64);
      off += cut;
      ++chunks;
    }
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  std::printf("FastCdc  %zu MiB random, %zu chunks, avg %.0f KiB\n", mib, chunks,
              double(n) / double(chunks) / 1024);
  std::printf("  chunked %8.0f MB/s\n", double(n) / best / 1e6);
  std::printf("  hashed  %8.0f MB/s\n", double(hashed) / best / 1e6);

  // IsAllZero over the whole buffer (memory bound), then over one 1 MiB block
  // again and again (from cache: the loop's own speed).
  std::memset(data.data(), 0, n);
  for (size_t block : {n, size_t{1} << 20}) {
    best = 1e9;
    bool all = true;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = Clock::now();
      for (size_t done = 0; done < n; done += block) all &= coffer::IsAllZero(data.data(), block);
      best = std::min(best, Seconds(t0, Clock::now()));
    }
    std::printf("IsAllZero %7zu KiB block: %8.1f GB/s%s\n", block >> 10, double(n) / best / 1e9,
                all ? "" : " (wrong answer!)");
  }
  return 0;
}
