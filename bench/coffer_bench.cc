// Micro benchmarks of the data path's primitives on 16 MiB buffers, in bytes
// per second on one core: FastCDC, zero detection, BLAKE3 (each
// implementation the CPU has), sealing and opening chunks (the OpenSSL path
// and libsodium's), and zstd at the levels worth considering.
//
//   make bench                         # all of them
//   build/coffer_bench --benchmark_filter=Blake3
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/chunker/fastcdc.h"
#include "core/chunker/zero.h"
#include "core/compress/zstd_codec.h"
#include "core/crypto/aead.h"
#include "core/crypto/keys.h"
#include "core/format/chunk_object.h"
#include "core/hash/blake3.h"

namespace coffer {
namespace {

constexpr size_t kBufferSize = 16 << 20;

const std::vector<uint8_t>& RandomBuffer() {
  static const std::vector<uint8_t> buf = [] {
    std::vector<uint8_t> b(kBufferSize);
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < b.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(b.data() + i, &v, 8);
    }
    return b;
  }();
  return buf;
}

// Log-like lines, like the text extents of coffer-mkimage images.
const std::vector<uint8_t>& TextBuffer() {
  static const std::vector<uint8_t> buf = [] {
    std::string s;
    std::mt19937_64 rng(2);
    const char* levels[] = {"INFO", "WARN", "DEBUG", "ERROR"};
    const char* words[] = {"request", "served", "cache",   "miss",    "user",  "session", "opened",
                           "closed",  "disk",   "latency", "backend", "retry", "timeout"};
    while (s.size() < kBufferSize) {
      s += "2026-11-24T04:" + std::to_string(rng() % 60) + ":" + std::to_string(rng() % 60) + "." +
           std::to_string(rng() % 1000) + " host-" + std::to_string(rng() % 32) + " " +
           levels[rng() % 4];
      for (int w = 0; w < 6; ++w) s += std::string(" ") + words[rng() % 13];
      s += " id=" + std::to_string(rng() % 100000) + " ms=" + std::to_string(rng() % 5000) + "\n";
    }
    s.resize(kBufferSize);
    return std::vector<uint8_t>(s.begin(), s.end());
  }();
  return buf;
}

const TargetKeys& Keys() {
  static const TargetKeys keys = TargetKeys::Derive(SecretKey::Random());
  return keys;
}

void BM_FastCdc(benchmark::State& state) {
  const auto& data = RandomBuffer();
  FastCdc cdc(ChunkerParams{}, GearTableFor(Keys()));
  for (auto _ : state) {
    size_t pos = 0, chunks = 0;
    while (pos < data.size()) {
      pos += cdc.NextCut(data.data() + pos, data.size() - pos, true);
      ++chunks;
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_FastCdc);

void BM_IsAllZero(benchmark::State& state) {
  std::vector<uint8_t> zeros(kBufferSize, 0);
  for (auto _ : state) benchmark::DoNotOptimize(IsAllZero(zeros.data(), zeros.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(zeros.size()));
}
BENCHMARK(BM_IsAllZero);

void BM_Blake3(benchmark::State& state) {
  auto impl = Blake3Impl(state.range(0));
  if (!Blake3ForceImpl(impl)) {
    state.SkipWithError("this CPU cannot run this implementation");
    return;
  }
  state.SetLabel(Blake3ImplName(impl));
  const auto& data = RandomBuffer();
  uint8_t out[kBlake3OutLen];
  for (auto _ : state) {
    Blake3KeyedHash(Keys().id_key.data(), data, out);
    benchmark::DoNotOptimize(out);
  }
  Blake3ResetImpl();
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_Blake3)
    ->Arg(int(Blake3Impl::kPortable))
    ->Arg(int(Blake3Impl::kSse41))
    ->Arg(int(Blake3Impl::kAvx2))
    ->Arg(int(Blake3Impl::kAvx512));

// Sealing 1 MiB chunks, as the pipeline does: AEAD alone (fast path and
// libsodium), then whole chunks (zstd when smaller + AEAD) of random and text.
void BM_AeadSeal(benchmark::State& state) {
  const auto& data = RandomBuffer();
  std::vector<uint8_t> out((1 << 20) + kAeadTagLen);
  uint8_t nonce[kAeadNonceLen] = {1};
  bool reference = state.range(0) != 0;
  state.SetLabel(reference ? "libsodium" : "HChaCha20 + OpenSSL");
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      ByteView chunk(data.data() + off, 1 << 20);
      if (reference) {
        AeadSealReference(Keys().enc_key, nonce, {}, chunk, out.data());
      } else {
        AeadSeal(Keys().enc_key, nonce, {}, chunk, out.data());
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_AeadSeal)->Arg(0)->Arg(1);

void BM_SealChunk(benchmark::State& state) {
  const auto& data = state.range(0) ? TextBuffer() : RandomBuffer();
  state.SetLabel(state.range(0) ? "text" : "random");
  std::vector<uint8_t> out((1 << 20) + kChunkOverhead);
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      ByteView chunk(data.data() + off, 1 << 20);
      ChunkId id = ComputeChunkId(Keys(), chunk);
      SealedChunk s = SealChunk(Keys(), id, chunk, out.data(), kDefaultZstdLevel);
      benchmark::DoNotOptimize(s);
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_SealChunk)->Arg(0)->Arg(1);

void BM_OpenChunk(benchmark::State& state) {
  const auto& data = state.range(0) ? TextBuffer() : RandomBuffer();
  state.SetLabel(state.range(0) ? "text" : "random");
  std::vector<std::vector<uint8_t>> objects;
  std::vector<ChunkId> ids;
  for (size_t off = 0; off < data.size(); off += 1 << 20) {
    ByteView chunk(data.data() + off, 1 << 20);
    ids.push_back(ComputeChunkId(Keys(), chunk));
    std::vector<uint8_t> obj((1 << 20) + kChunkOverhead);
    obj.resize(SealChunk(Keys(), ids.back(), chunk, obj.data(), kDefaultZstdLevel).size);
    objects.push_back(std::move(obj));
  }
  Buffer plain, scratch;
  for (auto _ : state) {
    for (size_t i = 0; i < objects.size(); ++i) {
      auto st = OpenChunk(Keys(), ids[i], objects[i], 4 << 20, &plain, &scratch);
      if (!st) state.SkipWithError("a chunk did not open");
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_OpenChunk)->Arg(0)->Arg(1);

void BM_ZstdLevel(benchmark::State& state) {
  const auto& data = TextBuffer();
  int level = int(state.range(0));
  std::vector<uint8_t> out(1 << 20);
  size_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      total += CompressIfSmaller(ByteView(data.data() + off, 1 << 20), out.data(), level);
    }
  }
  state.counters["ratio"] = double(data.size()) / double(total);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_ZstdLevel)->Arg(-5)->Arg(-3)->Arg(-1)->Arg(1)->Arg(2)->Arg(3);

void BM_ZstdRandom(benchmark::State& state) {
  const auto& data = RandomBuffer();
  std::vector<uint8_t> out(1 << 20);
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      benchmark::DoNotOptimize(
          CompressIfSmaller(ByteView(data.data() + off, 1 << 20), out.data(), kDefaultZstdLevel));
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_ZstdRandom);

}  // namespace
}  // namespace coffer

BENCHMARK_MAIN();
