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

// The snapshot's name in the source's directory: hidden, random.
std::string SnapshotName(const std::string& source_name) {
  uint8_t rnd[6];
  FillRandom(rnd, sizeof rnd);
  return "." + source_name + ".coffer-snapshot-" + HexEncode(rnd);
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
  if (dir_.get() >= 0) ::unlinkat(dir_.get(), name_.c_str(), 0);
}

Result<std::unique_ptr<FileSnapshot>> SnapshotFile(const std::string& path, bool quiescent,
                                                   bool no_symlinks) {
  if (quiescent) return std::unique_ptr<FileSnapshot>(new FileSnapshot(path, "none"));
  UniqueFd in(OpenPath(path, O_RDONLY, no_symlinks));
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
  const auto [dir_path, source_name] = SplitPath(path);
  UniqueFd dir(OpenPath(dir_path, O_RDONLY | O_DIRECTORY, no_symlinks));
  if (dir.get() < 0) {
    return std::unexpected(ErrnoError(errno, "opening the directory of " + path));
  }
  const std::string name = SnapshotName(source_name);
  // Beside the source, spelled as the source is (relative if it is).
  const std::string snap = path.substr(0, path.size() - source_name.size()) + name;
  UniqueFd out(::openat(dir.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (out.get() < 0) return std::unexpected(ErrnoError(errno, "cannot create snapshot " + snap));
  // Owned from here: removed on any failure below.
  std::unique_ptr<FileSnapshot> result(new FileSnapshot(snap, "reflink", std::move(dir), name));
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
