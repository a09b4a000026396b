#include "meta/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "base/fd.h"
#include "base/uuid.h"

namespace coffer::meta {
namespace {

Status WriteAll(int fd, const uint8_t* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, what));
    }
    p += w;
    n -= size_t(w);
  }
  return {};
}

Status SyncDir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    return std::unexpected(ErrnoError(errno, dir.string()));
  return {};
}

}  // namespace

Result<SecretKey> LoadMasterKey(const std::filesystem::path& path) {
  const std::string what = "master key " + path.string();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return std::unexpected(ErrnoError(errno, what));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(ErrnoError(errno, what));
  if (!S_ISREG(st.st_mode)) return Corruption(what + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return PermissionDenied(what + " may be read or written by others (mode " + mode +
                            "); make it private with chmod 600");
  }
  if (st.st_size != off_t(kMasterKeyLen)) {
    return Corruption(what + " holds " + std::to_string(st.st_size) + " bytes, not " +
                      std::to_string(kMasterKeyLen));
  }
  SecretKey key;
  size_t got = 0;
  while (got < kMasterKeyLen) {
    ssize_t r = ::read(fd.get(), key.data() + got, kMasterKeyLen - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::unexpected(ErrnoError(errno, what));
    if (r == 0) return Corruption(what + " is shorter than it says");
    got += size_t(r);
  }
  return key;
}

Result<SecretKey> LoadOrCreateMasterKey(const std::filesystem::path& path) {
  auto existing = LoadMasterKey(path);
  if (existing || existing.error().code() != ErrorCode::kNotFound) return existing;

  // Write a private temporary file, then link it to the final name: link
  // fails if another process created the key first, and then we use theirs.
  const std::string what = "master key " + path.string();
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + Uuid::Random().ToString();
  SecretKey key = SecretKey::Random();
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return std::unexpected(ErrnoError(errno, tmp.string()));
    Status st = WriteAll(fd.get(), key.data(), kMasterKeyLen, tmp.string());
    if (st && ::fchmod(fd.get(), 0600) != 0) st = std::unexpected(ErrnoError(errno, tmp.string()));
    if (st && ::fsync(fd.get()) != 0) st = std::unexpected(ErrnoError(errno, tmp.string()));
    if (!st) {
      ::unlink(tmp.c_str());
      return std::unexpected(st.error());
    }
  }
  int linked = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return LoadMasterKey(path);
    return std::unexpected(ErrnoError(link_errno, what));
  }
  std::filesystem::path dir = path.parent_path();
  COFFER_RETURN_IF_ERROR(SyncDir(dir.empty() ? std::filesystem::path(".") : dir));
  return key;
}

}  // namespace coffer::meta
