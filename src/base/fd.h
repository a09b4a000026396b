// UniqueFd: owns a file descriptor and closes it on destruction.
#pragma once

#include <unistd.h>

#include <utility>

namespace coffer {

// Closes the descriptor it holds (if any, i.e. >= 0) when destroyed or
// given another; movable, so a descriptor can outlive the scope that
// opened it. A close error is not reported: call close(release()) where it
// matters.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace coffer
