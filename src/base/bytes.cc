#include "base/bytes.h"

namespace coffer {

void Buffer::Reserve(size_t n) {
  if (n <= capacity_) return;
  Storage fresh = Allocate(n);
  if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
  data_ = std::move(fresh);
  capacity_ = n;
}

void ByteWriter::U16(uint16_t v) {
  uint8_t b[2];
  PutLe16(b, v);
  Raw(b);
}
void ByteWriter::U32(uint32_t v) {
  uint8_t b[4];
  PutLe32(b, v);
  Raw(b);
}
void ByteWriter::U64(uint64_t v) {
  uint8_t b[8];
  PutLe64(b, v);
  Raw(b);
}
void ByteWriter::String(std::string_view s) {
  U32(uint32_t(s.size()));
  Raw(AsBytes(s));
}

bool ByteReader::Take(size_t n) {
  if (!ok_ || in_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}
uint8_t ByteReader::U8() {
  if (!Take(1)) return 0;
  return in_[pos_++];
}
uint16_t ByteReader::U16() {
  if (!Take(2)) return 0;
  uint16_t v = GetLe16(in_.data() + pos_);
  pos_ += 2;
  return v;
}
uint32_t ByteReader::U32() {
  if (!Take(4)) return 0;
  uint32_t v = GetLe32(in_.data() + pos_);
  pos_ += 4;
  return v;
}
uint64_t ByteReader::U64() {
  if (!Take(8)) return 0;
  uint64_t v = GetLe64(in_.data() + pos_);
  pos_ += 8;
  return v;
}
ByteView ByteReader::Raw(size_t n) {
  if (!Take(n)) return {};
  ByteView v = in_.subspan(pos_, n);
  pos_ += n;
  return v;
}
std::string ByteReader::String(size_t max_len) {
  uint32_t n = U32();
  if (n > max_len) {
    ok_ = false;
    return {};
  }
  ByteView v = Raw(n);
  return std::string(AsChars(v));
}

std::string HexEncode(ByteView b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(b.size() * 2, '0');
  for (size_t i = 0; i < b.size(); ++i) {
    s[2 * i] = kDigits[b[i] >> 4];
    s[2 * i + 1] = kDigits[b[i] & 15];
  }
  return s;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

}  // namespace coffer
