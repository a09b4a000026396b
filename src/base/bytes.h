// Byte containers and the little-endian and hex codecs every format uses.
//
// Bytes is a growable, zero-initialised vector for small values (ids, keys,
// headers). Buffer is a fixed-capacity block whose contents are not
// initialised, for the multi-megabyte buffers of the data path where zeroing
// would cost a pass over memory.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coffer {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A heap block of `capacity` bytes, not initialised; `size` is how much of it
// holds data. Move-only. Blocks of 64 KiB and more start on a 4 KiB
// boundary, so the data path can hand their whole blocks to O_DIRECT
// without copying them.
class Buffer {
 public:
  static constexpr size_t kAlignFrom = 64 << 10;
  static constexpr size_t kAlignment = 4096;

  Buffer() = default;
  explicit Buffer(size_t capacity) : data_(Allocate(capacity)), capacity_(capacity) {}

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void set_size(size_t n) { size_ = n; }
  ByteView view() const { return {data_.get(), size_}; }

  // Grows the capacity to at least n, keeping the first size() bytes.
  void Reserve(size_t n);

 private:
  struct Free {
    bool aligned;
    void operator()(uint8_t* p) const {
      if (aligned) {
        ::operator delete[](p, std::align_val_t(kAlignment));
      } else {
        ::operator delete[](p);
      }
    }
  };
  using Storage = std::unique_ptr<uint8_t[], Free>;
  static Storage Allocate(size_t n) {
    if (n >= kAlignFrom) {
      return Storage(static_cast<uint8_t*>(::operator new[](n, std::align_val_t(kAlignment))),
                     Free{true});
    }
    return Storage(static_cast<uint8_t*>(::operator new[](n)), Free{false});
  }

  Storage data_{nullptr, Free{false}};
  size_t capacity_ = 0;
  size_t size_ = 0;
};

inline void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
inline void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline uint16_t GetLe16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t GetLe32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t GetLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Appends fixed-width little-endian fields and length-prefixed strings.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Raw(ByteView b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void String(std::string_view s);  // u32 length, then the bytes

 private:
  Bytes* out_;
};

// Reads what ByteWriter wrote. Every read checks the remaining length; after
// the first failure ok() is false and every later read returns zeros.
class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}
  uint8_t U8();
  uint16_t U16();
  uint32_t U32();
  uint64_t U64();
  ByteView Raw(size_t n);
  std::string String(size_t max_len = 1 << 20);
  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

 private:
  bool Take(size_t n);
  ByteView in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string HexEncode(ByteView b);
// Returns nothing unless `hex` is an even number of hex digits.
std::optional<Bytes> HexDecode(std::string_view hex);

}  // namespace coffer
