#include "volume/file_volume.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "base/direct_io.h"
#include "base/fd.h"
#include "base/uuid.h"

namespace coffer {
namespace {

std::string At(const std::string& path, uint64_t offset) {
  return path + " at offset " + std::to_string(offset);
}

// Reads an image file or a block device. What the page cache holds is
// copied from it; the rest is read with O_DIRECT through a second
// descriptor, so a backup of a cold volume neither evicts the host's cache
// nor pays for filling it (on this project's VMs, buffered reads of a cold
// 2 GiB image cost 2.5 s of system time against 0.1 s direct:
// docs/PERFORMANCE.md).
class FileReader final : public VolumeReader {
 public:
  FileReader(std::string path, UniqueFd fd, UniqueFd direct_fd, uint64_t size, bool seek_data)
      : path_(std::move(path)),
        fd_(std::move(fd)),
        direct_fd_(std::move(direct_fd)),
        size_(size),
        seek_data_(seek_data),
        direct_(direct_fd_.get() >= 0) {}

  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
    if (len >= kDirectMin && direct_.load(std::memory_order_relaxed)) {
      return ReadMostlyDirect(offset, out, len);
    }
    return ReadBuffered(offset, out, len);
  }

  bool MayWait(uint64_t offset, uint64_t len) override { return !IsCached(fd_.get(), offset, len); }

  Result<Extent> NextData(uint64_t offset) override {
    if (offset >= size_) return Extent{size_, 0};
    if (!seek_data_) return Extent{offset, size_ - offset};
    off_t data = ::lseek(fd_.get(), off_t(offset), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) return Extent{size_, 0};  // only a hole remains
      if (errno == EINVAL || errno == EOPNOTSUPP) {
        seek_data_ = false;
        return Extent{offset, size_ - offset};
      }
      return std::unexpected(ErrnoError(errno, "seeking data in " + At(path_, offset)));
    }
    off_t hole = ::lseek(fd_.get(), data, SEEK_HOLE);
    if (hole < 0) return std::unexpected(ErrnoError(errno, "seeking a hole in " + path_));
    uint64_t start = std::min<uint64_t>(uint64_t(data), size_);
    uint64_t end = std::min<uint64_t>(uint64_t(hole), size_);
    return Extent{start, end - start};
  }

 private:
  // Smaller reads go through the cache: a direct read costs a device round
  // trip however little it asks for.
  static constexpr size_t kDirectMin = 64 << 10;
  // The page cache is asked about the range this much at a time, so a
  // range it holds in part is read from it in part.
  static constexpr uint64_t kPiece = 1 << 20;

  Status ReadBuffered(uint64_t offset, uint8_t* out, size_t len) {
    size_t done = 0;
    while (done < len) {
      ssize_t n = ::pread(fd_.get(), out + done, len - done, off_t(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::unexpected(ErrnoError(errno, "reading " + At(path_, offset + done)));
      }
      if (n == 0) {
        return MakeError(ErrorCode::kInternal,
                         "reading " + At(path_, offset + done) + ": the source shrank");
      }
      done += size_t(n);
    }
    return {};
  }

  // A range the cache holds whole is copied from it in one read. Otherwise
  // each piece the cache holds whole is copied from it, and each run of
  // pieces it does not is read with one direct read, straight into `out`
  // where the caller keeps `out` as far from a 4 KiB boundary as `offset`
  // is (the backup's read window does).
  Status ReadMostlyDirect(uint64_t offset, uint8_t* out, size_t len) {
    const size_t whole = ReadCached(fd_.get(), offset, len, out);
    if (whole == len) return {};
    const uint64_t end = offset + len;
    uint64_t uncached = end;  // start of the run of pieces to read direct
    auto read_direct = [&](uint64_t from, uint64_t to) -> Status {
      uint8_t* dst = out + (from - offset);
      auto read = ReadDirect(direct_fd_.get(), from, to - from, dst, At(path_, from));
      if (!read && read.error().code() == ErrorCode::kCorruption) {
        // The file ended early: as a buffered read would say it.
        return MakeError(ErrorCode::kInternal,
                         "reading " + At(path_, from) + ": the source shrank");
      }
      if (!read) return std::unexpected(read.error());
      if (*read) return {};
      direct_ = false;  // refused: this file system, or no memory for the edges
      return ReadBuffered(from, dst, size_t(to - from));
    };
    for (uint64_t pos = offset + whole; pos < end;) {
      const uint64_t piece_end = std::min(end, (pos / kPiece + 1) * kPiece);
      const size_t want = size_t(piece_end - pos);
      const size_t cached = ReadCached(fd_.get(), pos, want, out + (pos - offset));
      if (cached == want) {
        if (uncached < pos) COFFER_RETURN_IF_ERROR(read_direct(uncached, pos));
        uncached = end;
      } else if (uncached == end) {
        uncached = pos + cached;
      }
      pos = piece_end;
    }
    if (uncached < end) COFFER_RETURN_IF_ERROR(read_direct(uncached, end));
    return {};
  }

  std::string path_;
  UniqueFd fd_;
  UniqueFd direct_fd_;  // the same file with O_DIRECT; -1 where refused
  uint64_t size_;
  bool seek_data_;
  std::atomic<bool> direct_;
};

Status WriteFully(int fd, const std::string& name, uint64_t offset, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "writing " + At(name, offset + done)));
    }
    done += size_t(n);
  }
  return {};
}

// Restores into a new regular file, published by rename on Commit.
//
// The whole blocks of each write go through a second descriptor opened with
// O_DIRECT (where the file system allows it), the partial blocks at either
// end through the page cache: a restore then touches two page-cache pages
// per chunk instead of every page it writes (base/direct_io.h says why that
// matters). The two kinds never share a block, and Commit's fsync covers
// both.
//
// Every name is looked up in `dir`, the directory opened once when the
// restore began: what the path names later cannot redirect the rename.
class FileWriter final : public VolumeWriter {
 public:
  FileWriter(std::string path, std::string temp, UniqueFd dir, std::string base,
             std::string temp_base, int fd, bool replace)
      : path_(std::move(path)),
        temp_(std::move(temp)),
        dir_(std::move(dir)),
        base_(std::move(base)),
        temp_base_(std::move(temp_base)),
        fd_(fd),
        replace_(replace) {
    direct_fd_ =
        ::openat(dir_.get(), temp_base_.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT | O_NOFOLLOW);
  }
  ~FileWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (direct_fd_ >= 0) ::close(direct_fd_);
    if (!committed_) ::unlinkat(dir_.get(), temp_base_.c_str(), 0);
  }

  const std::string& name() const override { return path_; }

  Status WriteAt(uint64_t offset, ByteView data) override {
    const uint64_t end = offset + data.size();
    // Split on pages, not just blocks: direct and buffered writes must never
    // share a page-cache page.
    const uint64_t align = CachePageSize();
    const uint64_t first = (offset + align - 1) / align * align, last = end / align * align;
    bool direct = direct_ok_.load(std::memory_order_relaxed) && direct_fd_ >= 0 && first < last;
    if (direct) {
      auto whole =
          WriteDirect(direct_fd_, first, data.subspan(first - offset, last - first), path_);
      if (!whole) return std::unexpected(whole.error());
      if (!*whole) direct_ok_ = false;  // refused: buffered from now on
      direct = *whole;
    }
    if (!direct) {
      COFFER_RETURN_IF_ERROR(WriteFully(fd_, path_, offset, data));
    } else {
      COFFER_RETURN_IF_ERROR(WriteFully(fd_, path_, offset, data.first(first - offset)));
      COFFER_RETURN_IF_ERROR(WriteFully(fd_, path_, last, data.subspan(last - offset)));
    }
    // Start writeback of what is written so far every 64 MiB, without
    // waiting for it, so the fsync in Commit has only the tail left and
    // durability overlaps the rest of the restore.
    if (unsynced_.fetch_add(data.size()) + data.size() >= kWritebackEvery) {
      unsynced_ = 0;
      ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    return {};
  }
  Status WriteZeros(uint64_t, uint64_t) override { return {}; }  // a hole already

  Status Allocate(uint64_t offset, uint64_t len) override {
    if (!allocate_ok_ || len == 0) return {};
    while (::fallocate(fd_, 0, off_t(offset), off_t(len)) != 0) {
      if (errno == EINTR) continue;
      if (errno == EOPNOTSUPP || errno == ENOSYS) {
        allocate_ok_ = false;  // the writes allocate as they go
        return {};
      }
      return std::unexpected(ErrnoError(
          errno, "reserving room for the restored data in " + temp_ + " (" + std::to_string(len) +
                     " bytes at offset " + std::to_string(offset) + ")"));
    }
    return {};
  }

  Status Commit() override {
    if (direct_fd_ >= 0) {
      ::close(direct_fd_);
      direct_fd_ = -1;
    }
    if (::fsync(fd_) != 0) return std::unexpected(ErrnoError(errno, "syncing " + temp_));
    if (::close(fd_) != 0) {
      fd_ = -1;
      return std::unexpected(ErrnoError(errno, "closing " + temp_));
    }
    fd_ = -1;
    COFFER_RETURN_IF_ERROR(Rename());
    committed_ = true;
    ::fsync(dir_.get());
    return {};
  }

 private:
  // The temporary file becomes DEST; without replace_, never over a DEST
  // that something else made during the restore.
  Status Rename() {
    const unsigned flags = replace_ ? 0 : RENAME_NOREPLACE;
    if (::renameat2(dir_.get(), temp_base_.c_str(), dir_.get(), base_.c_str(), flags) == 0) {
      return {};
    }
    int err = errno;
    if (err == EINVAL && !replace_) {
      // A file system without RENAME_NOREPLACE: check, then rename.
      struct stat st;
      if (::fstatat(dir_.get(), base_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        err = EEXIST;
      } else if (::renameat(dir_.get(), temp_base_.c_str(), dir_.get(), base_.c_str()) == 0) {
        return {};
      } else {
        err = errno;
      }
    }
    if (err == EEXIST) {
      return AlreadyExists(path_ +
                           " was created by something else during the restore: it is left "
                           "as it is, and the restored copy is not kept");
    }
    return std::unexpected(ErrnoError(err, "renaming " + temp_ + " to " + path_));
  }

  static constexpr uint64_t kWritebackEvery = 64ull << 20;
  std::string path_, temp_;
  UniqueFd dir_;
  std::string base_, temp_base_;  // names in dir_
  int fd_;
  bool replace_;
  int direct_fd_ = -1;  // the same file with O_DIRECT; -1 where refused
  std::atomic<bool> direct_ok_{true};
  bool allocate_ok_ = true;
  bool committed_ = false;
  std::atomic<uint64_t> unsynced_{0};
};

// Restores in place into a block device.
class DeviceWriter final : public VolumeWriter {
 public:
  DeviceWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~DeviceWriter() override { ::close(fd_); }
  const std::string& name() const override { return path_; }

  Status WriteAt(uint64_t offset, ByteView data) override {
    return WriteFully(fd_, path_, offset, data);
  }
  Status WriteZeros(uint64_t offset, uint64_t len) override {
    uint64_t range[2] = {offset, len};
    if (::ioctl(fd_, BLKZEROOUT, range) == 0) return {};
    static const std::vector<uint8_t> zeros(1 << 20, 0);
    for (uint64_t done = 0; done < len;) {
      size_t n = size_t(std::min<uint64_t>(len - done, zeros.size()));
      COFFER_RETURN_IF_ERROR(WriteFully(fd_, path_, offset + done, ByteView(zeros.data(), n)));
      done += n;
    }
    return {};
  }
  Status Commit() override {
    if (::fsync(fd_) != 0) return std::unexpected(ErrnoError(errno, "syncing " + path_));
    return {};
  }

 private:
  std::string path_;
  int fd_;
};

}  // namespace

Status CheckVolumeFileType(const struct stat& st, const std::string& path) {
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return {};
  const char* what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISDIR(st.st_mode)  ? "a directory"
                                            : "not a regular file";
  return InvalidArgument(path + " is " + what +
                         ": a file volume is a regular file or a block device");
}

Result<std::unique_ptr<VolumeReader>> OpenFileVolume(const std::string& path,
                                                     const FileOpenOptions& options) {
  // O_NONBLOCK: a FIFO opened for reading would wait for a writer, where
  // neither a cancel nor a timeout reaches; it is refused below instead.
  UniqueFd fd(OpenPath(path, O_RDONLY | O_NONBLOCK, options.no_symlinks));
  if (fd.get() < 0) return std::unexpected(ErrnoError(errno, "cannot open source " + path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(ErrnoError(errno, path));
  COFFER_RETURN_IF_ERROR(CheckVolumeFileType(st, path));
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  uint64_t size = 0;
  bool seek_data = false;
  if (S_ISREG(st.st_mode)) {
    size = uint64_t(st.st_size);
    seek_data = true;
  } else if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) {  // a block device
    return std::unexpected(ErrnoError(errno, "reading the size of device " + path));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  // The same open file again, for direct reads: through /proc, so neither
  // the path nor a link in it is looked up a second time. Where that or
  // O_DIRECT is refused (tmpfs on older kernels, no /proc), everything is
  // read buffered.
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  UniqueFd direct_fd(::open(self.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
  return std::unique_ptr<VolumeReader>(
      new FileReader(path, std::move(fd), std::move(direct_fd), size, seek_data));
}

Result<std::unique_ptr<VolumeWriter>> CreateFileVolume(const std::string& path, uint64_t size,
                                                       const FileWriteOptions& options) {
  const auto [dir_path, base] = SplitPath(path);
  if (base.empty() || base == "." || base == "..") {
    return InvalidArgument("restore destination " + path + " names no file");
  }
  UniqueFd dir(OpenPath(dir_path, O_RDONLY | O_DIRECTORY, options.no_symlinks));
  if (dir.get() < 0) {
    return std::unexpected(ErrnoError(errno, "opening the directory of " + path));
  }
  const int nofollow = options.no_symlinks ? O_NOFOLLOW : 0;
  struct stat st;
  bool exists = ::fstatat(dir.get(), base.c_str(), &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) == 0;
  if (exists && !options.force) {
    return AlreadyExists(path + " already exists (use --force to overwrite it)");
  }
  if (exists && S_ISBLK(st.st_mode)) {
    int fd = ::openat(dir.get(), base.c_str(), O_WRONLY | O_CLOEXEC | nofollow);
    if (fd < 0) return std::unexpected(ErrnoError(errno, "opening device " + path));
    uint64_t dev_size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &dev_size) != 0 || dev_size < size) {
      ::close(fd);
      return InvalidArgument("device " + path + " is smaller than the backup (" +
                             std::to_string(size) + " bytes)");
    }
    return std::unique_ptr<VolumeWriter>(new DeviceWriter(path, fd));
  }
  if (exists) COFFER_RETURN_IF_ERROR(CheckVolumeFileType(st, path));
  uint8_t rnd[6];
  FillRandom(rnd, sizeof rnd);
  const std::string suffix = ".coffer-partial-" + HexEncode(rnd);
  const std::string temp_base = base + suffix;
  const std::string temp = path + suffix;
  int fd = ::openat(dir.get(), temp_base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "cannot create " + temp));
  if (::ftruncate(fd, off_t(size)) != 0) {
    int err = errno;
    ::close(fd);
    ::unlinkat(dir.get(), temp_base.c_str(), 0);
    return std::unexpected(ErrnoError(err, "sizing " + temp));
  }
  return std::unique_ptr<VolumeWriter>(
      new FileWriter(path, temp, std::move(dir), base, temp_base, fd, options.force));
}

}  // namespace coffer
