#include "volume/file_snapshot.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include "base/bytes.h"
#include "base/fd.h"
#include "base/subprocess.h"
#include "base/uuid.h"
#include "volume/file_volume.h"

namespace coffer {
namespace {

// The snapshot's name in the source's directory: hidden, random.
constexpr std::string_view kSnapshotMark = ".coffer-snapshot-";

// ".<source>.coffer-snapshot-<pid>-<12 hex>": the pid of the process that
// made it, so that leftovers can be told from copies in use.
std::string SnapshotName(const std::string& source_name) {
  uint8_t rnd[6];
  FillRandom(rnd, sizeof rnd);
  return "." + source_name + std::string(kSnapshotMark) + std::to_string(::getpid()) + "-" +
         HexEncode(rnd);
}

// The pid a snapshot's name carries; 0 for a name without one (made before
// names carried it); nullopt when `name` is not a snapshot's.
std::optional<int64_t> SnapshotOwner(const std::string& name) {
  size_t at = name.rfind(kSnapshotMark);
  if (name.empty() || name[0] != '.' || at == std::string::npos || at == 0) return std::nullopt;
  std::string_view tail = std::string_view(name).substr(at + kSnapshotMark.size());
  auto hex = [](std::string_view h) {
    return h.size() == 12 && h.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  if (hex(tail)) return 0;
  size_t dash = tail.find('-');
  if (dash == std::string_view::npos || dash == 0 || !hex(tail.substr(dash + 1))) {
    return std::nullopt;
  }
  std::string_view pid = tail.substr(0, dash);
  if (pid.find_first_not_of("0123456789") != std::string_view::npos || pid.size() > 9) {
    return std::nullopt;
  }
  return std::stoll(std::string(pid));
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
  // O_NONBLOCK: see OpenFileVolume; a FIFO is refused, never waited on.
  UniqueFd in(OpenPath(path, O_RDONLY | O_NONBLOCK, no_symlinks));
  if (in.get() < 0) return std::unexpected(ErrnoError(errno, "cannot open source " + path));
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return std::unexpected(ErrnoError(errno, path));
  COFFER_RETURN_IF_ERROR(CheckVolumeFileType(st, path));
  ::fcntl(in.get(), F_SETFL, ::fcntl(in.get(), F_GETFL) & ~O_NONBLOCK);
  if (S_ISBLK(st.st_mode)) {
    return InvalidArgument("block device " + path +
                           " cannot be snapshotted by the agent: give the volume a snapshot hook "
                           "(LVM, ZFS, ...) or declare it quiescent");
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

Result<std::vector<std::string>> RemoveLeftoverSnapshots(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return std::unexpected(ErrnoError(ec.value(), "walking volume root " + root));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return std::unexpected(ErrnoError(ec.value(), "walking volume root " + root));
    const fs::directory_entry& e = *it;
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    std::optional<int64_t> owner = SnapshotOwner(e.path().filename().string());
    if (!owner) continue;
    // A copy whose process still runs (another agent on the same roots, or
    // a pid reused since: kept, to be safe) is left alone.
    if (*owner > 0 && ProcessExists(*owner)) continue;
    if (::unlink(e.path().c_str()) != 0 && errno != ENOENT) {
      return std::unexpected(ErrnoError(errno, "removing leftover snapshot " + e.path().string()));
    }
    removed.push_back(e.path().string());
  }
  return removed;
}

}  // namespace coffer
