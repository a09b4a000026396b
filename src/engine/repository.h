// Repository: an opened target. It owns the store, the verified config and
// the target's keys, and knows the layout of DESIGN §3: config, key slots,
// manifests and the GC generation. The data paths (backup, restore, check,
// gc) are separate files that work on a Repository.
//
// Thread safety: after Open/Init the accessors and the manifest and chunk
// calls may be used from many threads; key slot changes are not concurrent.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/uuid.h"
#include "core/crypto/keys.h"
#include "core/crypto/password.h"
#include "core/format/config.h"
#include "core/format/key_slot.h"
#include "core/format/manifest.h"
#include "store/object_store.h"

namespace coffer {

class SummaryCache;  // engine/known_chunks.h

struct InitOptions {
  ChunkerParams chunker;
  uint64_t segment_size = 64ull << 20;
  Argon2Params argon2 = DefaultArgon2Params();
};

// A backup whose manifest does not open, and why.
struct DamagedBackup {
  Uuid backup_id;
  Error error;
};

class Repository {
 public:
  // Creates a new target in an empty store: config and the first key slot.
  // kAlreadyExists if the store already holds a target.
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<ObjectStore> store,
                                                  std::string_view passphrase,
                                                  const InitOptions& options);

  // Opens a target: reads its config, opens a key slot with the passphrase
  // (kAuthFailed if none opens), verifies the config's MAC (kCorruption).
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<ObjectStore> store,
                                                  std::string_view passphrase);

  // Opens a target with its target key instead of a passphrase (the agent
  // gets the key from the manager with each job): reads the config and
  // verifies its MAC with the keys derived from `target_key` — kCorruption
  // if it does not match (a wrong key, or a config that was tampered with).
  // No key slot is read; unlocked_slot() is nil.
  static Result<std::unique_ptr<Repository>> OpenWithKey(std::unique_ptr<ObjectStore> store,
                                                         const SecretKey& target_key);

  // Reads the config alone, without the passphrase: kNotFound when the store
  // holds no target, kInvalidArgument for a newer format version.
  static Result<TargetConfig> Probe(ObjectStore& store);

  ObjectStore& store() { return *store_; }
  const TargetConfig& config() const { return config_; }
  const TargetKeys& keys() const { return keys_; }
  const Uuid& unlocked_slot() const { return unlocked_slot_; }

  // Backups.
  Result<std::vector<Uuid>> ListBackupIds();
  // With `cache`, the summary read is added to it.
  Result<ManifestSummary> LoadSummary(const Uuid& backup_id, SummaryCache* cache = nullptr);
  Result<Manifest> LoadManifest(const Uuid& backup_id);
  Status SaveManifest(const Manifest& manifest);
  Status DeleteManifest(const Uuid& backup_id);
  // Resolves a full backup id or a unique prefix of one (at least 4 hex
  // digits). kNotFound if none matches, kInvalidArgument if several do.
  Result<Uuid> ResolveBackupId(std::string_view text);
  // Summaries of every backup, oldest first. With `cache`, a summary it
  // holds (and that still authenticates) is not read from the store, one it
  // lacks is read and added, and backups no longer listed are dropped from
  // it: one LIST of manifests/ plus a GET per backup not seen before.
  // Without `damaged`, a manifest that does not open fails the call; with
  // it, a manifest that is damaged (kCorruption: truncated, tampered, not
  // this target's) is left out and its error added there, so one damaged
  // backup hides none of the others.
  Result<std::vector<ManifestSummary>> ListSummaries(SummaryCache* cache = nullptr,
                                                     std::vector<DamagedBackup>* damaged = nullptr);

  // Key slots.
  Result<std::vector<KeySlotInfo>> ListKeySlots();
  Result<Uuid> AddKeySlot(std::string_view passphrase, const Argon2Params& params);
  // Refuses to remove the last slot (kInvalidArgument).
  Status RemoveKeySlot(const Uuid& slot_id);

  // The GC generation (DESIGN §5): 0 until the first sweep.
  Result<uint64_t> GcGeneration();
  Result<uint64_t> RaiseGcGeneration();

 private:
  Repository(std::unique_ptr<ObjectStore> store, TargetConfig config, TargetKeys keys, Uuid slot)
      : store_(std::move(store)), config_(config), keys_(std::move(keys)), unlocked_slot_(slot) {}

  std::unique_ptr<ObjectStore> store_;
  TargetConfig config_;
  TargetKeys keys_;
  Uuid unlocked_slot_;
};

inline constexpr std::string_view kConfigKey = "config";
inline constexpr std::string_view kKeySlotPrefix = "keys/";
inline constexpr std::string_view kGcKey = "gc";

// The "gc" object's bytes: a decimal counter, trailing newlines and spaces
// allowed. kCorruption for anything else (the caller names the object).
Result<uint64_t> ParseGcGeneration(ByteView object);

}  // namespace coffer
