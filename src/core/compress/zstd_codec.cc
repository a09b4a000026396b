#include "core/compress/zstd_codec.h"

#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace coffer {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Guesses whether `in` compresses, from four samples spread over it: true if
// any sample shrinks by at least 1/32. Random data (encrypted files, media,
// already-compressed data) then costs four small attempts instead of a full
// pass, and a chunk with compressible parts anywhere still gets compressed.
bool LooksCompressible(ByteView in, ZSTD_CCtx* cctx, int level, uint8_t* scratch) {
  constexpr size_t kSample = 16 * 1024;
  if (in.size() < 8 * kSample) return true;  // small: just try the whole thing
  for (int i = 0; i < 4; ++i) {
    const uint8_t* sample = in.data() + (in.size() - kSample) * size_t(i) / 3;
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    size_t n = ZSTD_compress2(cctx, scratch, kSample - kSample / 32, sample, kSample);
    if (!ZSTD_isError(n)) return true;
  }
  return false;
}

}  // namespace

size_t CompressIfSmaller(ByteView in, uint8_t* out, int level) {
  if (in.size() < 64) return 0;  // a frame header alone eats the gain
  ZSTD_CCtx* cctx = ThreadCCtx();
  // `out` has room for the whole input; the samples use its first 16 KiB.
  if (!LooksCompressible(in, cctx, level, out)) return 0;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);  // the AEAD authenticates
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
  // A destination one byte smaller than the input makes zstd stop as soon as
  // the output cannot be smaller, so incompressible chunks cost little.
  size_t n = ZSTD_compress2(cctx, out, in.size() - 1, in.data(), in.size());
  if (ZSTD_isError(n)) return 0;
  return n;
}

Bytes CompressFrame(ByteView in, int level) {
  Bytes out(ZSTD_compressBound(in.size()));
  ZSTD_CCtx* cctx = ThreadCCtx();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) std::abort();  // cannot happen with a compressBound-sized output
  out.resize(n);
  return out;
}

Result<size_t> DecompressInto(ByteView in, uint8_t* out, size_t max_size) {
  unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Corruption("not a zstd frame");
  size_t cap = max_size;
  if (content != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (content > max_size) {
      return Corruption("zstd frame declares " + std::to_string(content) +
                        " bytes, more than the limit of " + std::to_string(max_size));
    }
    cap = size_t(content);
  }
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out, cap, in.data(), in.size());
  if (ZSTD_isError(n)) return Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && n != content) {
    return Corruption("zstd frame decompressed to fewer bytes than it declares");
  }
  return n;
}

Status Decompress(ByteView in, size_t max_size, Buffer* out) {
  out->set_size(0);
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Corruption("not a zstd frame");
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content > max_size) {
    return Corruption("zstd frame declares " + std::to_string(content) +
                      " bytes, more than the limit of " + std::to_string(max_size));
  }
  // The room grows with what the frame really holds, from a start that
  // depends on its compressed size only: a frame of a few bytes may declare
  // gigabytes, and the limit may be far above what any frame holds. One byte
  // over the limit tells a frame that exceeds it.
  const size_t cap = max_size == SIZE_MAX ? max_size : max_size + 1;
  size_t room = std::min(cap, std::max<size_t>(size_t(64) << 10, in.size() * 4));
  ZSTD_DCtx* dctx = ThreadDCtx();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  for (;;) {
    out->Reserve(room);
    ZSTD_outBuffer dst{out->data(), room, out->size()};
    const size_t r = ZSTD_decompressStream(dctx, &dst, &src);
    if (ZSTD_isError(r)) return Corruption(std::string("zstd: ") + ZSTD_getErrorName(r));
    out->set_size(dst.pos);
    if (dst.pos > max_size) {
      return Corruption("zstd frame holds more than the limit of " + std::to_string(max_size) +
                        " bytes");
    }
    if (r == 0) break;  // the frame is complete
    if (dst.pos < dst.size) {
      if (src.pos == src.size) return Corruption("zstd frame is truncated");
      continue;
    }
    room = room > cap / 2 ? cap : room * 2;
  }
  if (src.pos != src.size) return Corruption("bytes after the zstd frame");
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && out->size() != content) {
    return Corruption("zstd frame decompressed to " + std::to_string(out->size()) +
                      " bytes, not the " + std::to_string(content) + " it declares");
  }
  return {};
}

}  // namespace coffer
