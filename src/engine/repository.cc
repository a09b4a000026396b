#include "engine/repository.h"

#include <algorithm>
#include <charconv>

#include "base/text.h"
#include "engine/known_chunks.h"

namespace coffer {
namespace {

std::string SlotKey(const Uuid& id) { return std::string(kKeySlotPrefix) + id.ToString(); }

}  // namespace

Result<TargetConfig> Repository::Probe(ObjectStore& store) {
  auto raw = GetAll(store, kConfigKey);
  if (!raw) {
    if (raw.error().code() == ErrorCode::kNotFound) {
      return NotFound("no Coffer target at " + store.Describe() + " (run `coffer init` first)");
    }
    return std::unexpected(raw.error().WithContext("reading the config of " + store.Describe()));
  }
  return ParseConfig(*raw);
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<ObjectStore> store,
                                                     std::string_view passphrase,
                                                     const InitOptions& options) {
  COFFER_RETURN_IF_ERROR(ValidateChunkerParams(options.chunker));
  if (options.segment_size != 0 && options.segment_size < options.chunker.max_size) {
    return InvalidArgument("segment size must be 0 or at least the maximum chunk size");
  }
  if (passphrase.empty()) return InvalidArgument("the passphrase is empty");
  auto existing = store->Head(kConfigKey);
  if (existing) return AlreadyExists(store->Describe() + " already holds a Coffer target");
  if (existing.error().code() != ErrorCode::kNotFound) return std::unexpected(existing.error());
  bool has_objects = false;
  Status listed = store->List("", [&](const ObjectInfo&) -> Status {
    has_objects = true;
    return Cancelled("stop at the first object");
  });
  if (!listed && listed.error().code() != ErrorCode::kCancelled) {
    return std::unexpected(listed.error());
  }
  if (has_objects) {
    return AlreadyExists(store->Describe() + " is not empty; init needs an empty location");
  }

  TargetConfig config;
  config.target_id = Uuid::Random();
  config.created_at = UnixNow();
  config.chunker = options.chunker;
  config.segment_size = options.segment_size;
  TargetKeys keys = TargetKeys::Derive(SecretKey::Random());
  Uuid slot = Uuid::Random();
  COFFER_ASSIGN_OR_RETURN(Bytes slot_obj, SealKeySlot(slot, keys.target_key, passphrase,
                                                      options.argon2, config.created_at));
  // The key slot first: a config without a slot would be a target nobody can open.
  COFFER_RETURN_IF_ERROR(store->Put(SlotKey(slot), slot_obj));
  COFFER_RETURN_IF_ERROR(store->Put(kConfigKey, EncodeConfig(config, keys)));
  return std::unique_ptr<Repository>(
      new Repository(std::move(store), config, std::move(keys), slot));
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<ObjectStore> store,
                                                     std::string_view passphrase) {
  COFFER_ASSIGN_OR_RETURN(TargetConfig config, Probe(*store));
  COFFER_ASSIGN_OR_RETURN(Bytes config_obj, GetAll(*store, kConfigKey));
  std::vector<std::string> slot_keys;
  COFFER_RETURN_IF_ERROR(store->List(kKeySlotPrefix, [&](const ObjectInfo& info) -> Status {
    slot_keys.push_back(info.key);
    return {};
  }));
  if (slot_keys.empty()) return Corruption(store->Describe() + " has no key slots");
  std::sort(slot_keys.begin(), slot_keys.end());
  std::optional<Error> first_error;
  for (const std::string& key : slot_keys) {
    auto id = Uuid::Parse(std::string_view(key).substr(kKeySlotPrefix.size()));
    if (!id) continue;
    auto obj = GetAll(*store, key);
    if (!obj) return std::unexpected(obj.error());
    auto tk = OpenKeySlot(*id, *obj, passphrase);
    if (!tk) {
      if (tk.error().code() != ErrorCode::kAuthFailed && !first_error) first_error = tk.error();
      continue;
    }
    TargetKeys keys = TargetKeys::Derive(*tk);
    if (auto st = VerifyConfig(config_obj, keys); !st) {
      return Corruption("the config of " + store->Describe() +
                        " does not match its key (tampered, or mixed with another target)");
    }
    return std::unique_ptr<Repository>(
        new Repository(std::move(store), config, std::move(keys), *id));
  }
  if (first_error) return std::unexpected(*first_error);
  return AuthFailed("wrong passphrase: no key slot of " + store->Describe() + " opens with it");
}

Result<std::unique_ptr<Repository>> Repository::OpenWithKey(std::unique_ptr<ObjectStore> store,
                                                            const SecretKey& target_key) {
  COFFER_ASSIGN_OR_RETURN(TargetConfig config, Probe(*store));
  COFFER_ASSIGN_OR_RETURN(Bytes config_obj, GetAll(*store, kConfigKey));
  TargetKeys keys = TargetKeys::Derive(target_key);
  if (auto st = VerifyConfig(config_obj, keys); !st) {
    return Corruption("the config of " + store->Describe() +
                      " does not match the given target key (a wrong key, or a tampered config)");
  }
  return std::unique_ptr<Repository>(
      new Repository(std::move(store), config, std::move(keys), Uuid()));
}

Result<std::vector<Uuid>> Repository::ListBackupIds() {
  std::vector<Uuid> ids;
  COFFER_RETURN_IF_ERROR(store_->List(kManifestPrefix, [&](const ObjectInfo& info) -> Status {
    auto id = Uuid::Parse(std::string_view(info.key).substr(kManifestPrefix.size()));
    if (id) ids.push_back(*id);
    return {};
  }));
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<ManifestSummary> Repository::LoadSummary(const Uuid& id, SummaryCache* cache) {
  Buffer buf;
  std::string key = ManifestKey(id);
  auto st = store_->Get(key, &buf, ByteRange{0, kManifestSummaryMaxRead});
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return NotFound("no backup " + id.ToString());
    return std::unexpected(st.error().WithContext("reading manifest " + id.ToString()));
  }
  auto s = OpenManifestSummary(keys_, id, buf.view());
  if (!s) return std::unexpected(s.error().WithContext("manifest " + id.ToString()));
  if (cache != nullptr) cache->Put(id, buf.view());  // authentic: kept
  return s;
}

Result<Manifest> Repository::LoadManifest(const Uuid& id) {
  Buffer buf;
  auto st = store_->Get(ManifestKey(id), &buf);
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return NotFound("no backup " + id.ToString());
    return std::unexpected(st.error().WithContext("reading manifest " + id.ToString()));
  }
  auto m = OpenManifest(keys_, id, buf.view());
  if (!m) return std::unexpected(m.error().WithContext("manifest " + id.ToString()));
  return m;
}

Status Repository::SaveManifest(const Manifest& m) {
  return store_->Put(ManifestKey(m.summary.backup_id), SealManifest(keys_, m));
}

Status Repository::DeleteManifest(const Uuid& id) { return store_->Delete(ManifestKey(id)); }

Result<Uuid> Repository::ResolveBackupId(std::string_view text) {
  if (auto full = Uuid::Parse(text)) {
    auto head = store_->Head(ManifestKey(*full));
    if (!head) {
      if (head.error().code() == ErrorCode::kNotFound)
        return NotFound("no backup " + full->ToString());
      return std::unexpected(head.error());
    }
    return *full;
  }
  if (text.size() < 4) {
    return InvalidArgument("backup id '" + std::string(text) +
                           "' is too short (give at least 4 hex digits)");
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids, ListBackupIds());
  std::vector<Uuid> matches;
  for (const Uuid& id : ids) {
    if (id.ToString().starts_with(text)) matches.push_back(id);
  }
  if (matches.empty()) return NotFound("no backup matches '" + std::string(text) + "'");
  if (matches.size() > 1) {
    return InvalidArgument("backup id '" + std::string(text) + "' is ambiguous (" +
                           std::to_string(matches.size()) + " backups match)");
  }
  return matches[0];
}

Result<std::vector<ManifestSummary>> Repository::ListSummaries(
    SummaryCache* cache, std::vector<DamagedBackup>* damaged) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids, ListBackupIds());
  if (cache != nullptr) cache->Retain(ids);
  std::vector<ManifestSummary> out;
  for (const Uuid& id : ids) {
    if (cache != nullptr) {
      if (auto bytes = cache->Find(id)) {
        if (auto s = OpenManifestSummary(keys_, id, *bytes)) {
          out.push_back(std::move(*s));
          continue;
        }
      }
    }
    auto s = LoadSummary(id, cache);
    if (!s) {
      if (s.error().code() == ErrorCode::kNotFound) continue;  // forgotten meanwhile
      if (damaged != nullptr && s.error().code() == ErrorCode::kCorruption) {
        damaged->push_back({id, s.error()});
        continue;
      }
      return std::unexpected(s.error());
    }
    out.push_back(std::move(*s));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
  return out;
}

Result<std::vector<KeySlotInfo>> Repository::ListKeySlots() {
  std::vector<KeySlotInfo> slots;
  COFFER_RETURN_IF_ERROR(store_->List(kKeySlotPrefix, [&](const ObjectInfo& info) -> Status {
    auto id = Uuid::Parse(std::string_view(info.key).substr(kKeySlotPrefix.size()));
    if (!id) return {};
    COFFER_ASSIGN_OR_RETURN(Bytes obj, GetAll(*store_, info.key));
    COFFER_ASSIGN_OR_RETURN(KeySlotInfo slot, ParseKeySlot(*id, obj));
    slots.push_back(slot);
    return {};
  }));
  std::sort(slots.begin(), slots.end(),
            [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
  return slots;
}

Result<Uuid> Repository::AddKeySlot(std::string_view passphrase, const Argon2Params& params) {
  if (passphrase.empty()) return InvalidArgument("the new passphrase is empty");
  Uuid slot = Uuid::Random();
  COFFER_ASSIGN_OR_RETURN(Bytes obj,
                          SealKeySlot(slot, keys_.target_key, passphrase, params, UnixNow()));
  COFFER_RETURN_IF_ERROR(store_->Put(SlotKey(slot), obj));
  return slot;
}

Status Repository::RemoveKeySlot(const Uuid& slot_id) {
  COFFER_ASSIGN_OR_RETURN(std::vector<KeySlotInfo> slots, ListKeySlots());
  bool found = std::any_of(slots.begin(), slots.end(),
                           [&](const KeySlotInfo& s) { return s.slot_id == slot_id; });
  if (!found) return NotFound("no key slot " + slot_id.ToString());
  if (slots.size() == 1) {
    return InvalidArgument("key slot " + slot_id.ToString() +
                           " is the last one; removing it would lock everyone out");
  }
  return store_->Delete(SlotKey(slot_id));
}

Result<uint64_t> Repository::GcGeneration() {
  auto raw = GetAll(*store_, kGcKey);
  if (!raw) {
    if (raw.error().code() == ErrorCode::kNotFound) return uint64_t(0);
    return std::unexpected(raw.error());
  }
  auto gen = ParseGcGeneration(*raw);
  if (!gen)
    return std::unexpected(gen.error().WithContext("the gc object of " + store_->Describe()));
  return gen;
}

Result<uint64_t> ParseGcGeneration(ByteView object) {
  std::string_view text = AsChars(object);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  uint64_t gen = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), gen);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Corruption("not a number");
  }
  return gen;
}

Result<uint64_t> Repository::RaiseGcGeneration() {
  COFFER_ASSIGN_OR_RETURN(uint64_t gen, GcGeneration());
  std::string next = std::to_string(gen + 1) + "\n";
  COFFER_RETURN_IF_ERROR(store_->Put(kGcKey, AsBytes(next)));
  return gen + 1;
}

}  // namespace coffer
