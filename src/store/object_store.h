// ObjectStore: the one interface between Coffer and where a target lives.
//
// A store holds opaque objects under keys relative to the target's root, such
// as "config" or "chunks/ab/ab12…". Keys use only [0-9a-z/._-]. Every
// implementation (local directory, S3, in memory) and every wrapper (retry,
// limit, fault) passes the same conformance suite (store_conformance_test.cc).
//
// Thread safety: all methods may be called concurrently from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"

namespace coffer {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime = 0;  // last modification, seconds since the epoch
};

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What a store is like, set where it is opened; the engine takes its
// defaults from it instead of asking where the target lives.
struct StoreProperties {
  // Requests worth having in flight at once (S3: its connections); 0: the
  // engine's own, CPU-based default.
  unsigned concurrency = 0;
  // Whether every request is billed (S3): then nothing is asked that can be
  // avoided, such as a HEAD per chunk not known to be stored.
  bool billed_requests = false;

  // `concurrency`, or `fallback` when the store leaves it to the engine.
  unsigned ConcurrencyOr(unsigned fallback) const {
    return concurrency > 0 ? concurrency : fallback;
  }
};

// Which temporaries CleanTemporaries removes. By default none: it only
// counts them.
struct TemporaryCleanup {
  // Those whose writer is provably gone (base/process_identity.h): a
  // process on this host that has exited. Safe at any time.
  bool dead_writers = false;
  // Any at least this many seconds old, whoever wrote it (< 0: none by age).
  // For a writer that cannot be judged: on another host, or unnamed.
  int64_t min_age = -1;
  // Count what would be removed, remove nothing.
  bool dry_run = false;
  // Also look beyond where temporaries are written now, through the whole
  // store (the local store: temporaries beside the objects, of unnamed
  // writers); else only where a quick look finds them.
  bool everywhere = false;
};

struct TemporaryReport {
  uint64_t removed = 0, removed_bytes = 0;  // with dry_run: would be removed
  uint64_t kept = 0, kept_bytes = 0;        // left in place
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual StoreProperties properties() const { return {}; }

  // Where the store is, for messages: a directory path, "s3://bucket/prefix".
  virtual std::string Describe() const = 0;

  // Stores `data` under `key`, replacing any object there. Atomic: a reader
  // sees the whole old object, the whole new one, or none, never a part.
  // Durable when it returns successfully.
  virtual Status Put(std::string_view key, ByteView data) = 0;

  // Like Put, but the object need be neither visible nor durable before
  // Flush returns; until then it may be missing, and it is never partial. A
  // store that can batch its durability does (the local store makes many
  // objects durable with one journal commit instead of two each); the
  // others just Put.
  virtual Status PutDeferred(std::string_view key, ByteView data) { return Put(key, data); }

  // Makes every object passed to PutDeferred before the call (by any thread)
  // visible and durable. After a failed Flush the deferred objects are lost
  // and every later PutDeferred and Flush fails. Objects not flushed when
  // the store is destroyed are dropped.
  virtual Status Flush() { return {}; }

  // Finds what writers left behind that is not an object (the local
  // store's temporary files: a writer killed between its write and its
  // rename) and removes what `cleanup` says may go. Stores whose writes
  // leave nothing behind report nothing.
  virtual Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& /*cleanup*/) {
    return TemporaryReport{};
  }

  // Reads the object, or `range` of it, into *out (its size set to what was
  // read). A range that runs past the end is cut at the end; one that starts
  // at or past the end is kInvalidArgument. kNotFound if there is no object.
  virtual Status Get(std::string_view key, Buffer* out,
                     std::optional<ByteRange> range = std::nullopt) = 0;

  // Size and modification time of an object; kNotFound if there is none.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;

  // Calls `fn` for every object whose key starts with `prefix`, in no
  // promised order, and stops at the first error `fn` returns (which List
  // then returns).
  virtual Status List(std::string_view prefix,
                      const std::function<Status(const ObjectInfo&)>& fn) = 0;

  // Deletes the object; deleting one that does not exist succeeds.
  virtual Status Delete(std::string_view key) = 0;

  // Deletes many objects (S3 batches them); same contract as Delete for each.
  virtual Status DeleteMany(std::span<const std::string> keys);
};

// Convenience for small objects: Get into a fresh Bytes.
Result<Bytes> GetAll(ObjectStore& store, std::string_view key);

}  // namespace coffer
