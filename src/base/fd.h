// UniqueFd: owns a file descriptor and closes it on destruction.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <string>
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

// Opens the absolute `path` as open(2) would with `flags` and `mode`, but
// one component at a time and without following a symbolic link anywhere
// in it: a link fails with ELOOP (a ".." component with EINVAL). For a path
// resolved (realpath) and checked earlier, such as the agent's volume
// locators: a link in it now was put there since, and following it could
// lead out of the directories the check allowed. Returns a descriptor, or
// -1 with errno set; O_CLOEXEC is always added.
int OpenWithoutSymlinks(const std::string& path, int flags, mode_t mode = 0);

// open(2) of `path` with O_CLOEXEC added, or OpenWithoutSymlinks when
// `no_symlinks`.
int OpenPath(const std::string& path, int flags, bool no_symlinks, mode_t mode = 0);

// `path` cut at its last slash, for *at(2) calls on its directory: `dir` is
// "." where there is no slash and "/" for a name at the root; `name` is
// empty when the path ends in a slash.
struct PathParts {
  std::string dir, name;
};
PathParts SplitPath(const std::string& path);

}  // namespace coffer
