#include "volume/file_snapshot.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/bytes.h"
#include "base/fd.h"
#include "base/uuid.h"

namespace coffer {
namespace {

// The snapshot's name: hidden, beside the source, random.
std::string SnapshotPath(const std::string& path) {
  uint8_t rnd[6];
  FillRandom(rnd, sizeof rnd);
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + "." + base + ".coffer-snapshot-" + HexEncode(rnd);
}

// Copies [offset, offset+len) with copy_file_range (which the kernel may
// turn into a server-side or block-sharing copy), falling back to read/write.
Status CopyRange(int in, int out, uint64_t offset, uint64_t len, const std::string& what) {
  while (len > 0) {
    loff_t off_in = loff_t(offset), off_out = loff_t(offset);
    ssize_t n =
        ::copy_file_range(in, &off_in, out, &off_out, size_t(std::min<uint64_t>(len, 1u << 30)), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      static thread_local Buffer buf(size_t(1) << 20);
      ssize_t r =
          ::pread(in, buf.data(), size_t(std::min<uint64_t>(len, buf.capacity())), off_t(offset));
      if (r <= 0) return std::unexpected(ErrnoError(r < 0 ? errno : EIO, "reading " + what));
      for (ssize_t done = 0; done < r;) {
        ssize_t w = ::pwrite(out, buf.data() + done, size_t(r - done), off_t(offset) + done);
        if (w < 0) return std::unexpected(ErrnoError(errno, "writing the snapshot of " + what));
        done += w;
      }
      n = r;
    } else if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "copying " + what));
    } else if (n == 0) {
      return Internal("copying " + what + ": the source shrank");
    }
    offset += uint64_t(n);
    len -= uint64_t(n);
  }
  return {};
}

// Copies the data extents of `in` (holes stay holes) into `out`.
Status SparseCopy(int in, int out, uint64_t size, const std::string& what) {
  if (::ftruncate(out, off_t(size)) != 0) {
    return std::unexpected(ErrnoError(errno, "sizing the snapshot of " + what));
  }
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(in, off_t(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;                         // only a hole remains
      return CopyRange(in, out, pos, size - pos, what);  // no SEEK_DATA: copy it all
    }
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    uint64_t end = hole < 0 ? size : std::min<uint64_t>(uint64_t(hole), size);
    COFFER_RETURN_IF_ERROR(CopyRange(in, out, uint64_t(data), end - uint64_t(data), what));
    pos = end;
  }
  return {};
}

}  // namespace

FileSnapshot::~FileSnapshot() {
  if (owned_) ::unlinkat(dir_.get(), name_.c_str(), 0);
}

Result<std::unique_ptr<FileSnapshot>> SnapshotFile(const std::string& path, bool quiescent,
                                                   bool no_symlinks) {
  if (quiescent) return std::unique_ptr<FileSnapshot>(new FileSnapshot(path, "none", false));
  UniqueFd in(no_symlinks ? OpenWithoutSymlinks(path, O_RDONLY)
                          : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return std::unexpected(ErrnoError(errno, "cannot open source " + path));
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return std::unexpected(ErrnoError(errno, path));
  if (S_ISBLK(st.st_mode)) {
    return InvalidArgument("block device " + path +
                           " cannot be snapshotted by the agent: give the volume a snapshot hook "
                           "(LVM, ZFS, ...) or declare it quiescent");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(path + " is neither a regular file nor a block device");
  }
  const size_t slash = path.rfind('/');
  const std::string dir_path =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dir(no_symlinks ? OpenWithoutSymlinks(dir_path, O_RDONLY | O_DIRECTORY)
                           : ::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return std::unexpected(ErrnoError(errno, "opening the directory of " + path));
  }
  const std::string snap = SnapshotPath(path);
  const std::string name = snap.substr(snap.rfind('/') + 1);
  UniqueFd out(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        0600));
  if (out.get() < 0) return std::unexpected(ErrnoError(errno, "cannot create snapshot " + snap));
  // Owned from here: removed on any failure below.
  std::unique_ptr<FileSnapshot> result(
      new FileSnapshot(snap, "reflink", true, std::move(dir), name));
  if (::ioctl(out.get(), FICLONE, in.get()) == 0) return result;
  int err = errno;
  if (err != EOPNOTSUPP && err != ENOTTY && err != EXDEV && err != EINVAL && err != ENOSYS) {
    return std::unexpected(ErrnoError(err, "cloning " + path));
  }
  result->method_ = "copy";
  // No fsync: the copy is read once and removed; a crash loses nothing.
  COFFER_RETURN_IF_ERROR(SparseCopy(in.get(), out.get(), uint64_t(st.st_size), path));
  return result;
}

}  // namespace coffer
