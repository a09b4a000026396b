// What the fuzz targets share (docs/FUZZING.md): reading fixed-size fields
// off the front of an input, the target keys an input carries, and a file
// that holds an input for the decoders that read a path.
//
// Thread safety: libFuzzer runs one input at a time; none of this is shared
// between threads.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/uuid.h"
#include "core/crypto/keys.h"

namespace coffer::fuzz {

// The input, consumed from the front.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(data, size) {}

  // The next `n` bytes into `out`; false (and nothing taken) when fewer are
  // left.
  bool Take(size_t n, uint8_t* out) {
    if (rest_.size() < n) return false;
    std::memcpy(out, rest_.data(), n);
    rest_ = rest_.subspan(n);
    return true;
  }
  bool TakeUuid(Uuid* id) { return Take(id->bytes.size(), id->bytes.data()); }
  // TargetKeys derived from the next 32 bytes (a target key).
  bool TakeKeys(TargetKeys* keys) {
    uint8_t tk[kKeyLen];
    if (!Take(kKeyLen, tk)) return false;
    *keys = TargetKeys::Derive(SecretKey(tk));
    return true;
  }
  ByteView rest() const { return rest_; }
  std::string_view rest_text() const { return AsChars(rest_); }

 private:
  ByteView rest_;
};

// A file in memory (memfd) that holds the current input, for decoders that
// take a path: its contents are replaced by each Write.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("coffer-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& Write(ByteView bytes) {
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, bytes.data(), bytes.size(), 0) != ssize_t(bytes.size())) {
      std::abort();
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace coffer::fuzz
