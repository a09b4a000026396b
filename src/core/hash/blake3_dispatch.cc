// Chooses the BLAKE3 kernels: detects the CPU once (cpuid for the
// instructions, xgetbv for whether the OS saves the AVX and AVX-512
// registers), honours COFFER_BLAKE3_PORTABLE, and lets tests force a choice.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/hash/blake3.h"
#include "core/hash/blake3_impl.h"

#if defined(COFFER_BLAKE3_X86)
#include <cpuid.h>
#endif

namespace coffer {
namespace {

struct CpuFeatures {
  bool sse41 = false;
  bool avx2 = false;
  bool avx512 = false;  // F and VL, with the OS saving the ZMM state
};

#if defined(COFFER_BLAKE3_X86)
uint64_t ReadXcr0() {
  uint32_t lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.sse41 = c & bit_SSE4_1;
  bool osxsave = c & bit_OSXSAVE;
  bool avx = c & bit_AVX;
  uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
  bool os_ymm = (xcr0 & 0x6) == 0x6;    // XMM and YMM state
  bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // plus opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = f.sse41 && avx && os_ymm && (b & bit_AVX2);
  f.avx512 = f.avx2 && os_zmm && (b & bit_AVX512F) && (b & bit_AVX512VL);
  return f;
}
#else
CpuFeatures Detect() { return {}; }
#endif

const CpuFeatures& Features() {
  static const CpuFeatures features = Detect();
  return features;
}

const blake3::Kernels* KernelsFor(Blake3Impl impl) {
  const CpuFeatures& f = Features();
  switch (impl) {
    case Blake3Impl::kPortable:
      return &blake3::kPortableKernels;
#if defined(COFFER_BLAKE3_X86)
    case Blake3Impl::kSse41:
      return f.sse41 ? &blake3::kSse41Kernels : nullptr;
    case Blake3Impl::kAvx2:
      return f.avx2 ? &blake3::kAvx2Kernels : nullptr;
    case Blake3Impl::kAvx512:
      return f.avx512 ? &blake3::kAvx512Kernels : nullptr;
#else
    default:
      (void)f;
      return nullptr;
#endif
  }
  return nullptr;
}

// What the process starts with: the best detected implementation, unless
// the environment asks for the portable one.
Blake3Impl DefaultImpl() {
  static const Blake3Impl impl = [] {
    const char* env = std::getenv("COFFER_BLAKE3_PORTABLE");
    if (env != nullptr && std::strcmp(env, "1") == 0) return Blake3Impl::kPortable;
    for (Blake3Impl i : {Blake3Impl::kAvx512, Blake3Impl::kAvx2, Blake3Impl::kSse41}) {
      if (KernelsFor(i) != nullptr) return i;
    }
    return Blake3Impl::kPortable;
  }();
  return impl;
}

struct Active {
  Blake3Impl impl;
  const blake3::Kernels* kernels;
};

// One slot per implementation, so the atomic holds a plain pointer.
Active& Slot(Blake3Impl impl) {
  static Active slots[] = {
      {Blake3Impl::kPortable, KernelsFor(Blake3Impl::kPortable)},
      {Blake3Impl::kSse41, KernelsFor(Blake3Impl::kSse41)},
      {Blake3Impl::kAvx2, KernelsFor(Blake3Impl::kAvx2)},
      {Blake3Impl::kAvx512, KernelsFor(Blake3Impl::kAvx512)},
  };
  return slots[static_cast<int>(impl)];
}

std::atomic<const Active*> g_active{nullptr};

const Active& CurrentActive() {
  const Active* a = g_active.load(std::memory_order_acquire);
  if (a == nullptr) {
    const Active* initial = &Slot(DefaultImpl());
    // Another thread may have forced a choice meanwhile; keep it.
    if (g_active.compare_exchange_strong(a, initial, std::memory_order_acq_rel)) a = initial;
  }
  return *a;
}

}  // namespace

namespace blake3 {
const Kernels& ActiveKernels() { return *CurrentActive().kernels; }
}  // namespace blake3

Blake3Impl Blake3ActiveImpl() { return CurrentActive().impl; }

const char* Blake3ImplName(Blake3Impl impl) {
  switch (impl) {
    case Blake3Impl::kPortable:
      return "portable";
    case Blake3Impl::kSse41:
      return "sse41";
    case Blake3Impl::kAvx2:
      return "avx2";
    case Blake3Impl::kAvx512:
      return "avx512";
  }
  return "unknown";
}

bool Blake3ForceImpl(Blake3Impl impl) {
  if (static_cast<unsigned>(impl) > static_cast<unsigned>(Blake3Impl::kAvx512)) return false;
  const Active& slot = Slot(impl);
  if (slot.kernels == nullptr) return false;
  g_active.store(&slot, std::memory_order_release);
  return true;
}

void Blake3ResetImpl() { g_active.store(&Slot(DefaultImpl()), std::memory_order_release); }

}  // namespace coffer
