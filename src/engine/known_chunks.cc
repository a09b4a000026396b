#include "engine/known_chunks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/fd.h"
#include "core/format/chunk_object.h"
#include "core/format/manifest.h"
#include "core/hash/blake3.h"

namespace coffer {
namespace {

// The file (docs/FORMAT.md, "Known-chunks cache"):
//   magic "CFKNOWN\n" | u32 version | u32 zero | target uuid (16)
//   | u64 GC generation | u64 count | count sorted ids (32 each)
//   | BLAKE3 hash of everything before it (32)
constexpr char kMagic[8] = {'C', 'F', 'K', 'N', 'O', 'W', 'N', '\n'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderLen = 8 + 4 + 4 + 16 + 8 + 8;
static_assert(sizeof(ChunkId) == kChunkIdLen, "ids are read and written as raw bytes");

bool ReadFull(int fd, void* dst, size_t len) {
  auto* p = static_cast<uint8_t*>(dst);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n, len -= size_t(n);
  }
  return true;
}

Status WriteFull(int fd, const void* src, size_t len, const std::string& path) {
  auto* p = static_cast<const uint8_t*>(src);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(ErrnoError(errno, "writing " + path));
    p += n, len -= size_t(n);
  }
  return {};
}

// mkdir -p with mode 0700 for the directories it creates.
Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return {};
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return InvalidArgument(dir + " is not a directory");
  }
  if (size_t slash = dir.rfind('/'); slash != std::string::npos && slash > 0) {
    COFFER_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(ErrnoError(errno, "creating " + dir));
  }
  return {};
}

// Writes `parts` to `path` atomically: a temporary file beside it, fsynced,
// renamed over it; the directories are created first.
Status WriteFileAtomically(const std::string& path, std::span<const ByteView> parts) {
  size_t slash = path.rfind('/');
  COFFER_RETURN_IF_ERROR(MakeDirs(slash == std::string::npos ? "" : path.substr(0, slash)));
  uint8_t rnd[8];
  FillRandom(rnd, sizeof rnd);
  const std::string tmp = path + ".tmp-" + HexEncode(ByteView(rnd, sizeof rnd));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return std::unexpected(ErrnoError(errno, "creating " + tmp));
  Status st;
  for (ByteView part : parts) {
    if (st) st = WriteFull(fd.get(), part.data(), part.size(), tmp);
  }
  if (st && ::fsync(fd.get()) != 0) st = std::unexpected(ErrnoError(errno, "syncing " + tmp));
  if (st && ::close(fd.release()) != 0) st = std::unexpected(ErrnoError(errno, "closing " + tmp));
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = std::unexpected(ErrnoError(errno, "renaming " + tmp + " to " + path));
  }
  if (!st) ::unlink(tmp.c_str());
  return st;
}

void EncodeHeader(uint8_t* h, const Uuid& target, uint64_t generation, uint64_t count) {
  std::memcpy(h, kMagic, 8);
  PutLe32(h + 8, kVersion);
  PutLe32(h + 12, 0);
  std::memcpy(h + 16, target.bytes.data(), 16);
  PutLe64(h + 32, generation);
  PutLe64(h + 40, count);
}

}  // namespace

std::string_view CacheStateName(CacheState state) {
  switch (state) {
    case CacheState::kValid:
      return "valid";
    case CacheState::kMissing:
      return "missing";
    case CacheState::kStale:
      return "stale";
    case CacheState::kUnreadable:
      return "unreadable";
  }
  return "?";
}

std::string KnownChunkCache::DefaultRoot() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/coffer";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/coffer";
  }
  return "";
}

std::string KnownChunkCache::PathFor(std::string_view root, const Uuid& target_id,
                                     std::string_view location) {
  uint8_t digest[kBlake3OutLen];
  Blake3Hash(AsBytes(location), digest);
  std::string dir(root);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + target_id.ToString() + "/known-chunks-" + HexEncode(ByteView(digest, 8));
}

CacheState KnownChunkCache::Load(const Uuid& target_id, uint64_t generation) {
  target_id_ = target_id;
  generation_ = generation;
  ids_.clear();
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno == ENOENT ? CacheState::kMissing : CacheState::kUnreadable;
  struct stat st;
  uint8_t header[kHeaderLen];
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      uint64_t(st.st_size) < kHeaderLen + kBlake3OutLen ||
      !ReadFull(fd.get(), header, kHeaderLen)) {
    return CacheState::kUnreadable;
  }
  const uint64_t count = GetLe64(header + 40);
  // The length must be exactly what the count says: checked before any
  // allocation, so a damaged count cannot ask for terabytes.
  const uint64_t body = uint64_t(st.st_size) - kHeaderLen - kBlake3OutLen;
  if (std::memcmp(header, kMagic, 8) != 0 || GetLe32(header + 8) != kVersion ||
      body % kChunkIdLen != 0 || body / kChunkIdLen != count ||
      std::memcmp(header + 16, target_id.bytes.data(), 16) != 0) {
    return CacheState::kUnreadable;
  }
  std::vector<ChunkId> ids(count);
  uint8_t stored_sum[kBlake3OutLen], sum[kBlake3OutLen];
  if (!ReadFull(fd.get(), ids.data(), count * kChunkIdLen) ||
      !ReadFull(fd.get(), stored_sum, sizeof stored_sum)) {
    return CacheState::kUnreadable;
  }
  Blake3 h;
  h.Update(header, kHeaderLen);
  h.Update(ids.data(), count * kChunkIdLen);
  h.Finalize(sum, sizeof sum);
  if (std::memcmp(sum, stored_sum, sizeof sum) != 0) return CacheState::kUnreadable;
  // Contains relies on the order; a file that breaks it is not trusted.
  if (std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) != ids.end()) {
    return CacheState::kUnreadable;
  }
  if (GetLe64(header + 32) != generation) return CacheState::kStale;
  ids_ = std::move(ids);
  return CacheState::kValid;
}

Status KnownChunkCache::Rebuild(ObjectStore& store) {
  std::vector<ChunkId> ids;
  COFFER_RETURN_IF_ERROR(store.List("chunks/", [&](const ObjectInfo& info) -> Status {
    if (auto id = ParseChunkKey(info.key)) ids.push_back(*id);  // other names are not chunks
    return {};
  }));
  ids_.clear();
  Add(ids);
  return {};
}

Result<CacheState> KnownChunkCache::Prepare(Repository& repo) {
  COFFER_ASSIGN_OR_RETURN(uint64_t generation,
                          AddContext(repo.GcGeneration(), "reading the GC generation"));
  CacheState state = Load(repo.config().target_id, generation);
  if (state != CacheState::kValid) {
    COFFER_RETURN_IF_ERROR(AddContext(Rebuild(repo.store()), "listing the target's chunks"));
  }
  return state;
}

bool KnownChunkCache::Contains(const ChunkId& id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

void KnownChunkCache::Add(std::span<const ChunkId> ids) {
  if (ids.empty()) return;
  size_t old = ids_.size();
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  std::sort(ids_.begin() + ptrdiff_t(old), ids_.end());
  std::inplace_merge(ids_.begin(), ids_.begin() + ptrdiff_t(old), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

Status KnownChunkCache::Save() const {
  uint8_t header[kHeaderLen], sum[kBlake3OutLen];
  EncodeHeader(header, target_id_, generation_, ids_.size());
  ByteView ids(reinterpret_cast<const uint8_t*>(ids_.data()), ids_.size() * kChunkIdLen);
  Blake3 h;
  h.Update(header, kHeaderLen);
  h.Update(ids.data(), ids.size());
  h.Finalize(sum, sizeof sum);
  const ByteView parts[] = {ByteView(header, kHeaderLen), ids, ByteView(sum, sizeof sum)};
  return WriteFileAtomically(path_, parts);
}

// The summary cache file (docs/FORMAT.md, "Summary cache"):
//   magic "CFSUMMS\n" | u32 version | u32 zero | target uuid (16) | u64 count
//   | count entries: backup id (16) | u32 length | length bytes
//   | BLAKE3 hash of everything before it (32)
namespace {
constexpr char kSummaryMagic[8] = {'C', 'F', 'S', 'U', 'M', 'M', 'S', '\n'};
constexpr uint32_t kSummaryVersion = 1;
constexpr size_t kSummaryHeaderLen = 8 + 4 + 4 + 16 + 8;
constexpr uint64_t kSummaryFileMax = uint64_t(256) << 20;  // larger: not trusted
}  // namespace

std::string SummaryCache::PathFor(std::string_view root, const Uuid& target_id) {
  std::string dir(root);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + target_id.ToString() + "/summaries";
}

bool SummaryCache::Load(const Uuid& target_id) {
  target_id_ = target_id;
  summaries_.clear();
  if (path_.empty()) return false;
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      uint64_t(st.st_size) < kSummaryHeaderLen + kBlake3OutLen ||
      uint64_t(st.st_size) > kSummaryFileMax) {
    return false;
  }
  Bytes file(size_t(st.st_size));
  if (!ReadFull(fd.get(), file.data(), file.size())) return false;
  const size_t body = file.size() - kBlake3OutLen;
  uint8_t sum[kBlake3OutLen];
  Blake3Hash(ByteView(file.data(), body), sum);
  if (std::memcmp(sum, file.data() + body, sizeof sum) != 0 ||
      std::memcmp(file.data(), kSummaryMagic, 8) != 0 ||
      GetLe32(file.data() + 8) != kSummaryVersion ||
      std::memcmp(file.data() + 16, target_id.bytes.data(), 16) != 0) {
    return false;
  }
  const uint64_t count = GetLe64(file.data() + 32);
  std::map<Uuid, Bytes> read;
  size_t pos = kSummaryHeaderLen;
  for (uint64_t i = 0; i < count; ++i) {
    if (body - pos < 20) return false;
    Uuid id;
    std::memcpy(id.bytes.data(), file.data() + pos, 16);
    const size_t len = GetLe32(file.data() + pos + 16);
    pos += 20;
    if (body - pos < len) return false;
    read.emplace(id, Bytes(file.begin() + ptrdiff_t(pos), file.begin() + ptrdiff_t(pos + len)));
    pos += len;
  }
  if (pos != body) return false;
  summaries_ = std::move(read);
  return true;
}

Status SummaryCache::Save() const {
  if (path_.empty()) return {};
  Bytes out(kSummaryHeaderLen);
  std::memcpy(out.data(), kSummaryMagic, 8);
  PutLe32(out.data() + 8, kSummaryVersion);
  PutLe32(out.data() + 12, 0);
  std::memcpy(out.data() + 16, target_id_.bytes.data(), 16);
  PutLe64(out.data() + 32, summaries_.size());
  for (const auto& [id, bytes] : summaries_) {
    uint8_t entry[20];
    std::memcpy(entry, id.bytes.data(), 16);
    PutLe32(entry + 16, uint32_t(bytes.size()));
    out.insert(out.end(), entry, entry + sizeof entry);
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  uint8_t sum[kBlake3OutLen];
  Blake3Hash(out, sum);
  const ByteView parts[] = {out, ByteView(sum, sizeof sum)};
  return WriteFileAtomically(path_, parts);
}

std::optional<ByteView> SummaryCache::Find(const Uuid& backup_id) const {
  auto it = summaries_.find(backup_id);
  if (it == summaries_.end()) return std::nullopt;
  return ByteView(it->second);
}

void SummaryCache::Put(const Uuid& backup_id, ByteView object) {
  ByteView head = object.first(ManifestSummaryPrefixLength(object));
  summaries_[backup_id] = Bytes(head.begin(), head.end());
}

void SummaryCache::Retain(std::span<const Uuid> ids) {
  std::vector<Uuid> keep(ids.begin(), ids.end());
  std::sort(keep.begin(), keep.end());
  std::erase_if(summaries_, [&](const auto& entry) {
    return !std::binary_search(keep.begin(), keep.end(), entry.first);
  });
}

}  // namespace coffer
