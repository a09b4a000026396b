// Whole-buffer positional reads and writes for the image tools: they retry
// short transfers and EINTR and name the file and offset in any error.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "base/error.h"

namespace coffer::tools {

inline Status PwriteAll(int fd, const uint8_t* data, size_t n, uint64_t offset,
                        const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, off_t(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(
          ErrnoError(errno, path + " (write at offset " + std::to_string(offset) + ")"));
    }
    data += w;
    n -= size_t(w);
    offset += uint64_t(w);
  }
  return {};
}

inline Status PreadAll(int fd, uint8_t* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, off_t(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(
          ErrnoError(errno, path + " (read at offset " + std::to_string(offset) + ")"));
    }
    if (r == 0) {
      return Internal(path + ": unexpected end of file at offset " + std::to_string(offset));
    }
    data += r;
    n -= size_t(r);
    offset += uint64_t(r);
  }
  return {};
}

}  // namespace coffer::tools
