#include "store/local/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/bytes.h"
#include "base/direct_io.h"
#include "base/parallel.h"
#include "base/process_identity.h"
#include "base/uuid.h"

namespace coffer {
namespace {

bool ValidKey(std::string_view key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  size_t seg_start = 0;
  for (size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      std::string_view seg = key.substr(seg_start, i - seg_start);
      if (seg.empty() || seg == "." || seg == ".." || seg.starts_with(".tmp-")) return false;
      seg_start = i + 1;
      continue;
    }
    char c = key[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

Status PwriteAll(int fd, ByteView data, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "writing " + path));
    }
    if (n == 0) {
      return std::unexpected(Error(ErrorCode::kResourceExhausted,
                                   "writing " + path + ": no byte written; is the disk full?"));
    }
    done += size_t(n);
  }
  return {};
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(ErrnoError(errno, "opening directory " + dir));
  if (::fsync(fd.get()) != 0) return std::unexpected(ErrnoError(errno, "syncing directory " + dir));
  return {};
}

// Smaller reads go through the page cache; larger ones are copied from it
// when it holds the whole range, and read with O_DIRECT otherwise.
constexpr uint64_t kDirectReadMin = 64 << 10;

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// A batch's syncs run on up to this many threads, one more for every
// kSyncsPerThread syncs: an fsync spends its time waiting for the device,
// and waits in parallel overlap (a batch of 256 objects of 1 MiB in 256
// directories, fdatasync of each and fsync of each directory, on the
// project's test machine: 39 ms one by one, 17 ms on 4 threads, 13 ms on 8).
constexpr size_t kSyncThreads = 8, kSyncsPerThread = 16;

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root, bool create) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r.empty()) return InvalidArgument("empty target directory");
  struct stat st;
  if (::stat(r.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) return std::unexpected(ErrnoError(errno, r));
    // Create the directory and any missing parents.
    for (size_t i = 1; i <= r.size(); ++i) {
      if (i == r.size() || r[i] == '/') {
        std::string part = r.substr(0, i);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
          return std::unexpected(ErrnoError(errno, "creating " + part));
        }
      }
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument(r + " is not a directory");
  }
  return std::unique_ptr<LocalStore>(new LocalStore(r));
}

Result<std::string> LocalStore::PathOf(std::string_view key) const {
  if (!ValidKey(key)) return InvalidArgument("invalid object key '" + std::string(key) + "'");
  return root_ + "/" + std::string(key);
}

Status LocalStore::EnsureDir(const std::string& dir) {
  {
    std::lock_guard lock(dirs_mu_);
    if (known_dirs_.contains(dir)) return {};
  }
  // Create each missing component below the root, syncing its parent so the
  // new directory entry is durable before anything is published inside it.
  std::vector<std::string> missing;
  for (std::string d = dir; d.size() > root_.size(); d = DirName(d)) {
    struct stat st;
    if (::stat(d.c_str(), &st) == 0) break;
    missing.push_back(d);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "creating " + *it));
    }
    COFFER_RETURN_IF_ERROR(FsyncDir(DirName(*it)));
  }
  std::lock_guard lock(dirs_mu_);
  known_dirs_.insert(dir);
  return {};
}

Result<int> LocalStore::OpenTemporary(const std::string& path, bool* direct) {
  bool flushed = false;
  while (true) {
    int fd = ::open(path.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (*direct ? O_DIRECT : 0), 0600);
    if (fd >= 0) return fd;
    if (errno == EINVAL && *direct) {  // no O_DIRECT on this file system
      // Linux creates the file before it finds the flag refused: the name
      // is ours (random, and O_EXCL), so it goes before the plain retry,
      // which would fail on it with EEXIST.
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return std::unexpected(ErrnoError(errno, "removing " + path));
      }
      direct_ = false;
      *direct = false;
      continue;
    }
    if ((errno == EMFILE || errno == ENFILE) && !flushed) {
      // Out of descriptors, perhaps held by deferred objects: publishing
      // them closes theirs.
      bool holding;
      {
        std::lock_guard lock(mu_);
        holding = !deferred_.empty();
      }
      if (holding) {
        flushed = true;
        COFFER_RETURN_IF_ERROR(Flush());
        continue;
      }
    }
    return std::unexpected(ErrnoError(errno, "creating " + path));
  }
}

Result<LocalStore::Temporary> LocalStore::WriteTemporary(ByteView data, bool sync) {
  const std::string dir = root_ + "/" + std::string(kTempDir);
  COFFER_RETURN_IF_ERROR(EnsureDir(dir));
  uint8_t rnd[8];
  FillRandom(rnd, sizeof rnd);
  static const std::string writer = ProcessIdentity::Self().Tag();
  Temporary t{dir + "/" + std::string(kTempPrefix) + writer + "-" + HexEncode(rnd), {}};
  // Whole pages go to the device with O_DIRECT; a partial last page through
  // the page cache. Padding it for O_DIRECT and cutting the padding off
  // with ftruncate instead made the kernel read that block back from the
  // device, synchronously, to zero its tail: one wait per object.
  size_t whole = direct_.load(std::memory_order_relaxed)
                     ? size_t(data.size() / CachePageSize() * CachePageSize())
                     : 0;
  bool direct = whole > 0;
  COFFER_ASSIGN_OR_RETURN(int opened, OpenTemporary(t.path, &direct));
  t.fd.reset(opened);
  if (!direct) whole = 0;
  Status st;
  if (whole > 0) {
    auto r = WriteDirect(t.fd.get(), 0, data.first(whole), t.path);
    if (r && !*r) {  // no O_DIRECT for this file: buffered from now on
      t.fd.reset();
      ::unlink(t.path.c_str());
      direct_ = false;
      return WriteTemporary(data, sync);
    }
    if (!r) {
      st = std::unexpected(r.error());
    } else if (whole < data.size()) {
      const int flags = ::fcntl(t.fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(t.fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        st = std::unexpected(ErrnoError(errno, "writing " + t.path));
      }
    }
  }
  if (st) st = PwriteAll(t.fd.get(), data.subspan(whole), whole, t.path);
  // What went through the page cache is synced on this descriptor, now or
  // in Publish: a writeback error recorded after a close could be lost with
  // the inode before the file was opened again.
  if (st && sync && ::fdatasync(t.fd.get()) != 0) {
    st = std::unexpected(ErrnoError(errno, "syncing " + t.path));
  }
  if (st && sync) {
    if (::close(t.fd.release()) != 0) st = std::unexpected(ErrnoError(errno, "closing " + t.path));
  }
  if (!st) {
    ::unlink(t.path.c_str());
    return std::unexpected(st.error());
  }
  return t;
}

Status LocalStore::Put(std::string_view key, ByteView data) {
  COFFER_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  std::string dir = DirName(path);
  COFFER_RETURN_IF_ERROR(EnsureDir(dir));
  COFFER_ASSIGN_OR_RETURN(Temporary tmp, WriteTemporary(data, true));
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
    Error e = ErrnoError(errno, "renaming " + tmp.path + " to " + path);
    ::unlink(tmp.path.c_str());
    return std::unexpected(e);
  }
  return FsyncDir(dir);
}

Status LocalStore::PutDeferred(std::string_view key, ByteView data) {
  COFFER_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  std::string dir = DirName(path);
  COFFER_RETURN_IF_ERROR(EnsureDir(dir));
  COFFER_ASSIGN_OR_RETURN(Temporary tmp, WriteTemporary(data, false));
  bool full;
  {
    std::lock_guard lock(mu_);
    if (flush_error_) {
      ::unlink(tmp.path.c_str());
      return std::unexpected(*flush_error_);
    }
    deferred_.push_back(
        Deferred{std::move(tmp.path), std::move(path), std::move(dir), std::move(tmp.fd)});
    deferred_bytes_ += data.size();
    full = deferred_.size() >= kFlushObjects || deferred_bytes_ >= kFlushBytes;
  }
  return full ? Flush() : Status{};
}

Status LocalStore::Flush() {
  std::lock_guard flushing(flush_mu_);
  std::vector<Deferred> batch;
  {
    std::lock_guard lock(mu_);
    if (flush_error_) return std::unexpected(*flush_error_);
    batch.swap(deferred_);
    deferred_bytes_ = 0;
  }
  Status st = Publish(batch);
  if (!st) {
    for (Deferred& d : batch) {  // the unpublished ones
      d.fd.reset();
      ::unlink(d.tmp.c_str());
    }
    std::lock_guard lock(mu_);
    flush_error_ = st.error().WithContext("making deferred objects durable");
    return std::unexpected(*flush_error_);
  }
  return {};
}

// Publishes `batch`; on failure, leaves in it the objects not yet renamed.
Status LocalStore::Publish(std::vector<Deferred>& batch) {
  if (batch.empty()) return {};
  // Data first: every temporary durable before any is renamed, so a crash
  // never leaves a final name on data that did not reach the disk.
  COFFER_RETURN_IF_ERROR(
      ForEachIndex(batch.size(), kSyncThreads, kSyncsPerThread, [&](size_t i) -> Status {
        Deferred& d = batch[i];
        UniqueFd fd = std::move(d.fd);  // the one that wrote it (see WriteTemporary)
        if (::fdatasync(fd.get()) != 0)
          return std::unexpected(ErrnoError(errno, "syncing " + d.tmp));
        if (::close(fd.release()) != 0)
          return std::unexpected(ErrnoError(errno, "closing " + d.tmp));
        return {};
      }));
  std::vector<std::string> dirs;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Deferred& d = batch[i];
    if (::rename(d.tmp.c_str(), d.path.c_str()) != 0) {
      Error e = ErrnoError(errno, "renaming " + d.tmp + " to " + d.path);
      batch.erase(batch.begin(), batch.begin() + ptrdiff_t(i));
      return std::unexpected(e);
    }
    dirs.push_back(d.dir);
  }
  batch.clear();
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  return ForEachIndex(dirs.size(), kSyncThreads, kSyncsPerThread,
                      [&](size_t i) { return FsyncDir(dirs[i]); });
}

LocalStore::~LocalStore() {
  for (Deferred& d : deferred_) {
    d.fd.reset();
    ::unlink(d.tmp.c_str());
  }
}

Status LocalStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  COFFER_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFound("no object " + std::string(key) + " in " + root_);
    return std::unexpected(ErrnoError(errno, path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(ErrnoError(errno, path));
  uint64_t size = uint64_t(st.st_size);
  uint64_t offset = 0, length = size;
  if (range) {
    if (range->offset >= size && !(size == 0 && range->offset == 0 && range->length == 0)) {
      return InvalidArgument("range starts at " + std::to_string(range->offset) +
                             ", past the end of " + std::string(key) + " (" + std::to_string(size) +
                             " bytes)");
    }
    offset = range->offset;
    length = std::min(range->length, size - offset);
  }
  out->set_size(0);
  out->Reserve(length);
  size_t done = 0;
  if (length >= kDirectReadMin && direct_.load(std::memory_order_relaxed)) {
    // From the page cache if it holds the whole range; what it does not
    // (all of it, or a tail evicted meanwhile) from the device, past it.
    done = ReadCached(fd.get(), offset, length, out->data());
    if (done < length) {
      auto direct =
          ReadObjectDirect(fd.get(), path, offset + done, length - done, out->data() + done);
      if (!direct) return std::unexpected(direct.error());
      if (*direct) done = length;
    }
  }
  while (done < length) {
    ssize_t n = ::pread(fd.get(), out->data() + done, length - done, off_t(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "reading " + path));
    }
    if (n == 0) return Corruption(path + " shrank while being read");
    done += size_t(n);
  }
  out->set_size(length);
  return {};
}

Result<bool> LocalStore::ReadObjectDirect(int fd, const std::string& path, uint64_t offset,
                                          uint64_t length, uint8_t* out) {
  // The descriptor Get opened, switched to O_DIRECT: the same file, even if
  // it was deleted or replaced since.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
    if (errno != EINVAL) return std::unexpected(ErrnoError(errno, path));
    direct_ = false;
    return false;
  }
  auto read = coffer::ReadDirect(fd, offset, length, out, path);
  if (read && !*read) direct_ = false;
  (void)::fcntl(fd, F_SETFL, flags);  // a refused read falls back on this descriptor
  return read;
}

Result<ObjectInfo> LocalStore::Head(std::string_view key) {
  COFFER_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("no object " + std::string(key) + " in " + root_);
    return std::unexpected(ErrnoError(errno, path));
  }
  if (!S_ISREG(st.st_mode)) return NotFound(path + " is not an object");
  return ObjectInfo{std::string(key), uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec)};
}

namespace {

// Walks `dir` (whose key is `dir_key`, "" for the root) depth first, calling
// visit(key, stat) for every regular file that is a temporary, or for every
// one that is not. Only what is visited is stat'ed: a walk for temporaries
// through a million chunks reads their directories, not their inodes.
Status Walk(const std::string& dir, const std::string& dir_key,
            const std::function<Status(const std::string&, const struct stat&)>& visit,
            bool temporaries) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return {};
    return std::unexpected(ErrnoError(errno, "listing " + dir));
  }
  std::vector<std::pair<std::string, unsigned char>> entries;  // name, d_type
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.emplace_back(name, e->d_type);
  }
  int read_err = errno;
  ::closedir(d);
  if (read_err != 0) return std::unexpected(ErrnoError(read_err, "listing " + dir));
  for (auto& [name, type] : entries) {
    const bool temp = name.starts_with(LocalStore::kTempPrefix);
    if (type == DT_REG && temp != temporaries) continue;
    if (type != DT_REG && type != DT_DIR && type != DT_UNKNOWN) continue;
    std::string path = dir + "/" + name;
    std::string key = dir_key.empty() ? name : dir_key + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return std::unexpected(ErrnoError(errno, path));
    }
    if (S_ISDIR(st.st_mode)) {
      COFFER_RETURN_IF_ERROR(Walk(path, key, visit, temporaries));
    } else if (S_ISREG(st.st_mode) && temp == temporaries) {
      COFFER_RETURN_IF_ERROR(visit(key, st));
    }
  }
  return {};
}

// Who wrote the temporary file `name` (".tmp-<tag>-<16 hex>"); nullopt for
// a name that does not say (".tmp-<16 hex>").
std::optional<ProcessIdentity> WriterOf(std::string_view name) {
  name.remove_prefix(LocalStore::kTempPrefix.size());
  size_t dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return ProcessIdentity::FromTag(name.substr(0, dash));
}

}  // namespace

Status LocalStore::List(std::string_view prefix,
                        const std::function<Status(const ObjectInfo&)>& fn) {
  // Start at the deepest directory the prefix names in full.
  std::string dir_key(
      prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/')));
  std::string dir = dir_key.empty() ? root_ : root_ + "/" + dir_key;
  return Walk(
      dir, dir_key,
      [&](const std::string& key, const struct stat& st) -> Status {
        if (!key.starts_with(prefix)) return {};
        return fn(ObjectInfo{key, uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec)});
      },
      false);
}

Status LocalStore::Delete(std::string_view key) {
  COFFER_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(ErrnoError(errno, "deleting " + path));
  }
  return {};
}

Result<TemporaryReport> LocalStore::CleanTemporaries(const TemporaryCleanup& cleanup) {
  // Writers are judged in the form their names give them (hashed ids).
  static const ProcessIdentity self = *ProcessIdentity::FromTag(ProcessIdentity::Self().Tag());
  const int64_t now = int64_t(::time(nullptr));
  TemporaryReport report;
  auto visit = [&](const std::string& key, const struct stat& st) -> Status {
    const std::string name = key.substr(key.rfind('/') + 1);
    bool doomed = cleanup.min_age >= 0 && now - int64_t(st.st_mtim.tv_sec) >= cleanup.min_age;
    if (!doomed && cleanup.dead_writers) {
      auto writer = WriterOf(name);
      doomed = writer && !WhyProcessGone(*writer, self).empty();
    }
    if (!doomed) {
      ++report.kept;
      report.kept_bytes += uint64_t(st.st_size);
      return {};
    }
    if (!cleanup.dry_run) {
      const std::string path = root_ + "/" + key;
      if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) return {};  // its writer renamed it, or another cleaner took it
        return std::unexpected(ErrnoError(errno, "deleting " + path));
      }
    }
    ++report.removed;
    report.removed_bytes += uint64_t(st.st_size);
    return {};
  };
  if (cleanup.everywhere) {
    COFFER_RETURN_IF_ERROR(Walk(root_, "", visit, true));
  } else {
    const std::string dir(kTempDir);
    COFFER_RETURN_IF_ERROR(Walk(root_ + "/" + dir, dir, visit, true));
  }
  return report;
}

}  // namespace coffer
