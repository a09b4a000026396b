#include "base/fd.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace coffer {

int OpenWithoutSymlinks(const std::string& path, int flags, mode_t mode) {
  if (path.empty() || path.front() != '/') {
    errno = EINVAL;
    return -1;
  }
  UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return -1;
  size_t pos = 1;
  for (;;) {
    const size_t slash = path.find('/', pos);
    const std::string name =
        path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (name == "..") {
      errno = EINVAL;
      return -1;
    }
    if (slash == std::string::npos) {
      // "/" or a path that ends in "/": the directory reached is the answer.
      if (name.empty()) return dir.release();
      return ::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    }
    if (!name.empty()) {  // "//" adds no component
      int next = ::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0) {
        // O_DIRECTORY meets the link itself, not a directory: say why.
        struct stat st;
        if (errno == ENOTDIR && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
          errno = ELOOP;
        }
        return -1;
      }
      dir.reset(next);
    }
    pos = slash + 1;
  }
}

int OpenPath(const std::string& path, int flags, bool no_symlinks, mode_t mode) {
  return no_symlinks ? OpenWithoutSymlinks(path, flags, mode)
                     : ::open(path.c_str(), flags | O_CLOEXEC, mode);
}

PathParts SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace coffer
