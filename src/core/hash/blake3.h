// BLAKE3: the hash that names every chunk and derives Coffer's subkeys.
//
// Blake3 is an incremental hasher in one of the three BLAKE3 modes: hash,
// keyed_hash (a 32-byte key) and derive_key (a context string; the key
// material is fed with Update). Output is extendable: Finalize and
// FinalizeSeek read any number of bytes of the output stream without changing
// the state, so more input may follow. The one-shot functions below are what
// most callers want.
//
// Large inputs are hashed many chunks at a time with the widest SIMD kernel
// the CPU supports (SSE4.1, AVX2 or AVX-512), chosen once at first use; every
// kernel produces the same bytes. Setting COFFER_BLAKE3_PORTABLE=1 in the
// environment before the process starts forces the portable kernel (a way to
// rule SIMD out when chasing a bug); Blake3ForceImpl does the same per test.
//
// Thread safety: a Blake3 object is a plain value (about 2 KiB, mostly the
// stack of subtree chaining values); const methods may run concurrently,
// Update and Reset need exclusive access. The free functions and the
// implementation switch are safe to call from any thread (switching while
// other threads hash is allowed: every kernel gives the same results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"

namespace coffer {

inline constexpr size_t kBlake3KeyLen = 32;
inline constexpr size_t kBlake3OutLen = 32;

class Blake3 {
 public:
  // hash mode.
  Blake3();
  // keyed_hash mode with a 32-byte key.
  explicit Blake3(const uint8_t key[kBlake3KeyLen]);
  // derive_key mode: `context` should be a hardcoded, globally unique,
  // application-specific string; the key material is fed with Update.
  static Blake3 ForDeriveKey(std::string_view context);

  // Adds input. Any split of the input gives the same hash; large pieces are
  // faster, because the SIMD kernels need many whole chunks in one call (16
  // KiB fills the 16 AVX-512 lanes; 4 KiB pieces run at about a sixth of
  // the speed of 1 MiB ones).
  void Update(const void* data, size_t len);

  // Writes the first out_len bytes of the output stream (any length; 32 is
  // the default hash size). Does not change the state: may be called again,
  // and Update may follow.
  void Finalize(uint8_t* out, size_t out_len) const;
  // Writes out_len bytes of the output stream starting at byte `seek`.
  void FinalizeSeek(uint64_t seek, uint8_t* out, size_t out_len) const;

  // Back to the empty input, keeping the mode and the key.
  void Reset();

 private:
  // The tree is at most 2^64 bytes = 2^54 chunks deep, plus one chaining
  // value that is pushed before the stack is merged (see PushCv).
  static constexpr size_t kMaxStack = 55;

  Blake3(const uint32_t key[8], uint8_t flags);
  void UpdateChunk(const uint8_t* data, size_t len);
  void PushCv(const uint32_t cv[8], uint64_t chunk_index);
  void MergeStack(int target);
  void HashSubtrees(const uint8_t* data, size_t num_chunks);

  uint32_t key_[8];
  uint8_t flags_;  // the mode: 0, KEYED_HASH or DERIVE_KEY_*

  // The current chunk: its chaining value so far and its last, not yet
  // compressed block (kept back because it may turn out to be CHUNK_END).
  uint32_t chunk_cv_[8];
  uint64_t chunk_index_ = 0;
  uint8_t block_[64];
  uint8_t block_len_ = 0;
  uint8_t blocks_done_ = 0;

  // Chaining values of completed subtrees, largest (leftmost) first.
  uint32_t stack_[kMaxStack][8];
  uint8_t stack_len_ = 0;
};

// One-shot hash mode, 32 bytes of output.
void Blake3Hash(ByteView data, uint8_t out[kBlake3OutLen]);
// One-shot keyed_hash mode: a MAC or PRF keyed with 32 bytes.
void Blake3KeyedHash(const uint8_t key[kBlake3KeyLen], ByteView data, uint8_t out[kBlake3OutLen]);
// One-shot derive_key mode: out_len bytes of key derived from key_material
// for the purpose named by `context`.
void Blake3DeriveKey(std::string_view context, ByteView key_material, uint8_t* out, size_t out_len);

// The SIMD kernels. Each implies the ones before it on x86-64; elsewhere only
// kPortable exists. kSse41 uses the portable single-block compression and
// 4-way SIMD for many chunks.
enum class Blake3Impl { kPortable, kSse41, kAvx2, kAvx512 };

Blake3Impl Blake3ActiveImpl();
const char* Blake3ImplName(Blake3Impl impl);
// Forces an implementation for tests and benchmarks; returns false (and
// changes nothing) if this CPU cannot run it.
bool Blake3ForceImpl(Blake3Impl impl);
// Goes back to the implementation chosen at start: the best one detected, or
// kPortable if COFFER_BLAKE3_PORTABLE=1 was set.
void Blake3ResetImpl();

}  // namespace coffer
