// Measures BLAKE3 throughput on a file, for comparison with
// `b3sum --num-threads 1 FILE` on the same page-cached file:
//
//   blake3_bench [--impl=portable|sse41|avx2|avx512] [--runs=N]
//                [--update=BYTES] [--memory | --populate] FILE
//
// Each run maps the file (shared, read-only, as b3sum does), hashes it with Update calls of
// --update bytes (default: the whole file in one call) and unmaps it;
// --populate maps it with MAP_POPULATE (page faults taken up front, inside
// the timing); --memory hashes a private copy instead, made before timing. Prints
// each run's GB/s (10^9 bytes per second) by wall-clock and by CPU time,
// the medians, and the hash.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "core/hash/blake3.h"

namespace coffer {
namespace {

// CPU time of this process (user and system), which leaves out the time
// other processes on a shared machine take the core away.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

std::string HashOnce(const uint8_t* data, size_t size, size_t update) {
  Blake3 h;
  for (size_t pos = 0; pos < size; pos += update)
    h.Update(data + pos, std::min(update, size - pos));
  uint8_t out[kBlake3OutLen];
  h.Finalize(out, sizeof(out));
  return HexEncode(ByteView(out, sizeof(out)));
}

int Main(int argc, char** argv) {
  int runs = 7;
  size_t update = 0;
  bool memory = false;
  bool populate = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--impl=")) {
      std::string_view name = arg.substr(7);
      bool found = false;
      for (Blake3Impl impl :
           {Blake3Impl::kPortable, Blake3Impl::kSse41, Blake3Impl::kAvx2, Blake3Impl::kAvx512}) {
        if (name == Blake3ImplName(impl)) {
          found = true;
          if (!Blake3ForceImpl(impl)) {
            std::fprintf(stderr, "this CPU cannot run %s\n", argv[i] + 7);
            return 1;
          }
        }
      }
      if (!found) {
        std::fprintf(stderr, "unknown implementation %s\n", argv[i] + 7);
        return 2;
      }
    } else if (arg.starts_with("--runs=")) {
      runs = std::atoi(argv[i] + 7);
    } else if (arg.starts_with("--update=")) {
      update = std::strtoull(argv[i] + 9, nullptr, 10);
    } else if (arg == "--populate") {
      populate = true;
    } else if (arg == "--memory") {
      memory = true;
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr || runs < 1) {
    std::fprintf(stderr,
                 "usage: blake3_bench [--impl=NAME] [--runs=N] [--update=BYTES] "
                 "[--memory | --populate] FILE\n");
    return 2;
  }
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
    std::perror(path);
    return 1;
  }
  size_t size = size_t(st.st_size);
  if (update == 0) update = size;

  std::vector<uint8_t> copy;
  if (memory) {
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return std::perror("mmap"), 1;
    copy.assign(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + size);
    munmap(p, size);
  }
  std::vector<double> rates, cpu_rates;
  std::string hash;
  for (int r = 0; r < runs; ++r) {
    double cpu_start = CpuSeconds();
    auto start = std::chrono::steady_clock::now();
    if (memory) {
      hash = HashOnce(copy.data(), size, update);
    } else {
      void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
      if (p == MAP_FAILED) return std::perror("mmap"), 1;
      hash = HashOnce(static_cast<const uint8_t*>(p), size, update);
      munmap(p, size);
    }
    std::chrono::duration<double> secs = std::chrono::steady_clock::now() - start;
    rates.push_back(double(size) / secs.count() / 1e9);
    cpu_rates.push_back(double(size) / (CpuSeconds() - cpu_start) / 1e9);
    std::printf("run %d: %.3f GB/s wall, %.3f GB/s cpu\n", r + 1, rates.back(), cpu_rates.back());
  }
  close(fd);
  std::sort(rates.begin(), rates.end());
  std::sort(cpu_rates.begin(), cpu_rates.end());
  std::printf("%s  %s\nimpl %s, median over %d runs: %.3f GB/s wall, %.3f GB/s cpu\n", hash.c_str(),
              path, Blake3ImplName(Blake3ActiveImpl()), runs, rates[rates.size() / 2],
              cpu_rates[cpu_rates.size() / 2]);
  return 0;
}

}  // namespace
}  // namespace coffer

int main(int argc, char** argv) { return coffer::Main(argc, argv); }
