// LocalStore keeps a target in a directory: the key "chunks/ab/ab12…" is the
// file <root>/chunks/ab/ab12…
//
// Put writes a temporary file, fsyncs it, renames it over the final name and
// fsyncs the directory, so no partial object is ever visible under its final
// name, whatever the moment the process or the machine stops. Temporaries
// are written to <root>/tmp/, named ".tmp-<writer>-<16 hex>", where <writer>
// is the writing process's ProcessIdentity::Tag() (base/process_identity.h):
// so a later process finds a killed writer's leftovers in one directory, not
// in a walk of the whole target, and can prove their writer dead before it
// removes them (CleanTemporaries). List never reports temporary files.
//
// PutDeferred writes the temporary file and keeps it open, nothing more.
// Flush (run by PutDeferred itself every kFlushObjects objects or
// kFlushBytes bytes, and by the caller before it names the objects
// anywhere) fdatasyncs each on the descriptor that wrote it (on ext4 and
// XFS the first commits the journal for all of them, the rest find nothing
// to do), renames them, and fsyncs each directory once. Same guarantee as Put, for far
// fewer journal commits: the data's and the renames' each commit once per
// batch, not once per object (each fdatasync and directory fsync still
// flushes the device's cache; a large batch's syncs run on a few threads,
// since each mostly waits for the device and the waits overlap).
//
// Objects are written, and read when 64 KiB or larger, with O_DIRECT where
// the file system allows it: whole pages from the caller's memory (through
// a reused block-aligned buffer if it is not aligned), a partial last page
// through the page cache. Backup data skips the page cache, which it would
// only evict others' pages from, and at most one new page-cache page is
// touched per object (on a VM whose host reclaims free memory, a first
// touch costs more than the copy; docs/PERFORMANCE.md). Where
// O_DIRECT is refused (tmpfs, some network file systems) the store falls
// back to buffered I/O for good.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/fd.h"
#include "store/object_store.h"

namespace coffer {

class LocalStore final : public ObjectStore {
 public:
  // Opens the directory `root`; it must exist unless `create` is set.
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& root, bool create);

  std::string Describe() const override { return root_; }
  Status Put(std::string_view key, ByteView data) override;
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  Status PutDeferred(std::string_view key, ByteView data) override;
  Status Flush() override;
  ~LocalStore() override;  // drops objects not flushed

  // Temporaries in tmp/ and, with cleanup.everywhere, anywhere in the
  // target (named ".tmp-<16 hex>" beside the objects, their writer unknown).
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override;

  static constexpr std::string_view kTempPrefix = ".tmp-";
  static constexpr std::string_view kTempDir = "tmp";
  static constexpr size_t kFlushObjects = 256;
  static constexpr uint64_t kFlushBytes = 256 << 20;

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  Result<std::string> PathOf(std::string_view key) const;
  Status EnsureDir(const std::string& dir);
  // A temporary file and, until it is synced and closed, its descriptor.
  struct Temporary {
    std::string path;
    UniqueFd fd;
  };
  // Writes `data` to a new temporary file in `dir`. With `sync` the file is
  // durable and closed on return; without, it is returned open, for
  // Publish to sync on the descriptor that wrote it.
  Result<Temporary> WriteTemporary(ByteView data, bool sync);
  // Creates `path` for writing, with O_DIRECT if *direct and the file
  // system allows it (*direct says whether it did). Out of descriptors, it
  // publishes the deferred objects, which hold theirs, and tries again.
  Result<int> OpenTemporary(const std::string& path, bool* direct);

  struct Deferred {
    std::string tmp, path, dir;
    UniqueFd fd;  // open until Publish syncs it
  };
  Status Publish(std::vector<Deferred>& batch);

  // Reads [offset, offset+length) of `path` into out with O_DIRECT; false if
  // the kernel refused it, so the caller falls back.
  Result<bool> ReadObjectDirect(int fd, const std::string& path, uint64_t offset, uint64_t length,
                                uint8_t* out);

  std::string root_;
  std::atomic<bool> direct_{true};  // O_DIRECT works here, as far as we know
  std::mutex dirs_mu_;
  std::unordered_set<std::string> known_dirs_;  // directories known to exist

  std::mutex flush_mu_;  // one Flush at a time; taken before mu_
  std::mutex mu_;        // guards the three below
  std::vector<Deferred> deferred_;
  uint64_t deferred_bytes_ = 0;
  std::optional<Error> flush_error_;  // sticky: deferred objects were lost
};

}  // namespace coffer
