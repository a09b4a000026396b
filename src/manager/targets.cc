#include "manager/targets.h"

#include <algorithm>
#include <filesystem>

#include "base/bytes.h"
#include "base/uuid.h"

namespace coffer::manager {
namespace {

constexpr int64_t kMaxGraceSeconds = 365LL * 86400;
constexpr size_t kMinPassphrase = 8;

std::unexpected<Error> FieldError(std::string_view field, const std::string& why) {
  return InvalidArgument(std::string(field) + ": " + why);
}

bool IsS3(std::string_view address) { return address.starts_with("s3://"); }

// An endpoint the S3 client accepts: http(s)://host[:port], nothing after.
Status ValidateEndpoint(std::string_view endpoint) {
  if (endpoint.empty()) return {};
  std::string_view rest = endpoint;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return FieldError("s3_endpoint",
                      "'" + std::string(endpoint) + "' must start with http:// or https://");
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return FieldError("s3_endpoint",
                      "'" + std::string(endpoint) + "' must be http(s)://host[:port]");
  }
  return {};
}

Status ValidateConnection(std::string_view address, std::string_view endpoint,
                          std::string_view region, std::string_view access_key_id,
                          bool has_secret) {
  if (IsS3(address)) {
    COFFER_RETURN_IF_ERROR(ValidateEndpoint(endpoint));
    if (access_key_id.empty()) return FieldError("s3_access_key_id", "required for an s3 target");
    if (!has_secret) return FieldError("s3_secret_access_key", "required for an s3 target");
    return {};
  }
  if (!endpoint.empty()) return FieldError("s3_endpoint", "only for an s3:// address");
  if (!region.empty()) return FieldError("s3_region", "only for an s3:// address");
  if (!access_key_id.empty() || has_secret) {
    return FieldError("s3_access_key_id", "credentials are only for an s3:// address");
  }
  return {};
}

Status ValidateAddress(std::string_view address) {
  if (address.empty()) return FieldError("address", "required");
  if (IsS3(address)) {
    std::string_view rest = address.substr(5);
    if (rest.empty() || rest.front() == '/') {
      return FieldError("address", "'" + std::string(address) + "' names no bucket");
    }
    return {};
  }
  std::string_view path = address;
  if (path.starts_with("file://")) path.remove_prefix(7);
  if (path.find("://") != std::string_view::npos) {
    return FieldError("address", "'" + std::string(address) +
                                     "' must be s3://BUCKET/PREFIX, file:///PATH or /PATH");
  }
  if (!std::filesystem::path(path).is_absolute()) {
    return FieldError("address", "'" + std::string(address) + "' is not an absolute path");
  }
  return {};
}

// Where a target lives, for telling whether two rows name one location.
std::string Location(std::string_view address, std::string_view endpoint) {
  if (IsS3(address)) {
    std::string a(address);
    while (a.ends_with('/')) a.pop_back();
    std::string e(endpoint.empty() ? "aws" : endpoint);
    while (e.ends_with('/')) e.pop_back();
    return e + " " + a;
  }
  std::string_view path = address;
  if (path.starts_with("file://")) path.remove_prefix(7);
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.ends_with('/')) p.pop_back();
  return p;
}

// Every failure while talking to the target during a probe is either "it
// refuses us" (kPermissionDenied) or "it cannot be reached / used"
// (kUnavailable); both are 422 (targets.h). kAlreadyExists and kAuthFailed
// keep their meaning.
Error ProbeError(const Error& e, std::string_view address) {
  ErrorCode code = e.code();
  if (code != ErrorCode::kPermissionDenied && code != ErrorCode::kAlreadyExists &&
      code != ErrorCode::kAuthFailed) {
    code = ErrorCode::kUnavailable;
  }
  return Error(code, "target " + std::string(address) + ": " + e.message());
}

// Writes, reads back and deletes a probe object.
Status Probe(ObjectStore& store) {
  const std::string key = "probe-" + Uuid::Random().ToString();
  const std::string body = "coffer manager probe " + key;
  COFFER_RETURN_IF_ERROR(AddContext(store.Put(key, AsBytes(body)), "writing a probe object"));
  Buffer back;
  Status got = store.Get(key, &back);
  if (!got) {
    (void)store.Delete(key);
    return std::unexpected(got.error().WithContext("reading the probe object back"));
  }
  if (AsChars(back.view()) != body) {
    (void)store.Delete(key);
    return Unavailable("the probe object " + key + " read back different bytes");
  }
  return AddContext(store.Delete(key), "deleting the probe object");
}

}  // namespace

Status ValidateTargetName(std::string_view name) {
  if (name.empty()) return FieldError("name", "required");
  if (name.size() > 128) return FieldError("name", "longer than 128 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return FieldError("name", "contains a control character");
  }
  return {};
}

Status ValidateGcHour(int hour) {
  if (hour < 0 || hour > 23) return FieldError("gc_hour", std::to_string(hour) + " is not 0..23");
  return {};
}

Status ValidateGcGrace(int64_t seconds) {
  if (seconds < 0 || seconds > kMaxGraceSeconds) {
    return FieldError("gc_grace_seconds", std::to_string(seconds) + " is not 0..31536000");
  }
  return {};
}

meta::SecretString JobTarget::TargetKeyHex() const {
  return meta::SecretString(HexEncode(ByteView(target_key.data(), kKeyLen)));
}

StoreOptions TargetService::StoreOptionsFor(const meta::BackupTarget& target,
                                            const meta::SecretString& s3_secret) const {
  StoreOptions o;
  if (IsS3(target.address)) {
    o.s3_credentials = AwsCredentials{target.s3_access_key_id, s3_secret.Reveal(), ""};
    o.s3_endpoint = target.s3_endpoint;
    o.s3_region = target.s3_region.empty() ? "us-east-1" : target.s3_region;
    o.s3_ca_file = options_.s3_ca_file;
  }
  return o;
}

namespace {

// Store options for a probe: create a missing directory, and give up within
// the probe timeout instead of the usual retry budget.
StoreOptions ForProbe(StoreOptions o, std::chrono::milliseconds timeout) {
  o.create = true;
  o.s3_connect_timeout = std::max(std::chrono::milliseconds(500), timeout / 3);
  o.s3_stall_timeout = timeout;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(100);
  o.retry.max_backoff = std::chrono::milliseconds(1000);
  o.retry.deadline = timeout / 2;
  return o;
}

// Opens the store for a probe: a malformed address is a field error, any
// other failure (a directory that cannot be created) a probe error.
Result<std::unique_ptr<ObjectStore>> OpenForProbe(std::string_view address,
                                                  const StoreOptions& options) {
  auto store = OpenStore(address, options);
  if (!store) {
    if (store.error().code() == ErrorCode::kInvalidArgument) {
      return FieldError("address", store.error().message());
    }
    return std::unexpected(ProbeError(store.error(), address));
  }
  return store;
}

}  // namespace

Result<meta::BackupTarget> TargetService::CreateTarget(const CreateTargetRequest& r) {
  COFFER_RETURN_IF_ERROR(ValidateTargetName(r.name));
  COFFER_RETURN_IF_ERROR(ValidateAddress(r.address));
  COFFER_RETURN_IF_ERROR(ValidateConnection(r.address, r.s3_endpoint, r.s3_region,
                                            r.s3_access_key_id, !r.s3_secret_access_key.empty()));
  COFFER_RETURN_IF_ERROR(ValidateGcHour(r.gc_hour));
  COFFER_RETURN_IF_ERROR(ValidateGcGrace(r.gc_grace_seconds));
  if (r.passphrase.Reveal().size() < kMinPassphrase) {
    return FieldError("passphrase",
                      "required, at least 8 characters (it opens the target's "
                      "key slot when the manager is gone)");
  }
  // Refuse a taken name or location before touching the target.
  COFFER_ASSIGN_OR_RETURN(auto existing, meta_.ListBackupTargets());
  const std::string location = Location(r.address, r.s3_endpoint);
  for (const auto& t : existing) {
    if (t.name == r.name) return AlreadyExists("name: a target named '" + r.name + "' exists");
    if (Location(t.address, t.s3_endpoint) == location) {
      return AlreadyExists("address: target '" + t.name + "' (" + t.id + ") already uses " +
                           r.address);
    }
  }

  meta::BackupTarget shape;
  shape.address = r.address;
  shape.s3_endpoint = r.s3_endpoint;
  shape.s3_region = r.s3_region;
  shape.s3_access_key_id = r.s3_access_key_id;
  StoreOptions so =
      ForProbe(StoreOptionsFor(shape, r.s3_secret_access_key), options_.probe_timeout);
  COFFER_ASSIGN_OR_RETURN(auto store, OpenForProbe(r.address, so));
  if (auto st = Probe(*store); !st) return std::unexpected(ProbeError(st.error(), r.address));

  // A fresh target, or (adopt) the one already there.
  std::unique_ptr<Repository> repo;
  bool fresh = false;
  auto config = Repository::Probe(*store);
  if (config) {
    if (!r.adopt) {
      return AlreadyExists("address: " + r.address +
                           " already holds a Coffer target (target uuid " +
                           config->target_id.ToString() + "); set adopt to register it");
    }
    auto opened = Repository::Open(std::move(store), r.passphrase.Reveal());
    if (!opened) return std::unexpected(ProbeError(opened.error(), r.address));
    repo = std::move(*opened);
    if (meta_.GetBackupTarget(repo->config().target_id.ToString())) {
      return AlreadyExists("address: the target there (uuid " +
                           repo->config().target_id.ToString() + ") is already registered");
    }
  } else if (config.error().code() == ErrorCode::kNotFound) {
    InitOptions init;
    init.argon2 = options_.argon2;
    auto made = Repository::Init(std::move(store), r.passphrase.Reveal(), init);
    if (!made) return std::unexpected(ProbeError(made.error(), r.address));
    repo = std::move(*made);
    fresh = true;
  } else if (config.error().code() == ErrorCode::kInvalidArgument) {
    return AlreadyExists("address: " + r.address +
                         " holds a target Coffer cannot use: " + config.error().message());
  } else {
    return std::unexpected(ProbeError(config.error(), r.address));
  }

  meta::NewBackupTarget row;
  row.id = repo->config().target_id.ToString();
  row.name = r.name;
  row.address = r.address;
  row.s3_endpoint = r.s3_endpoint;
  row.s3_region = r.s3_region;
  row.s3_access_key_id = r.s3_access_key_id;
  row.s3_secret_access_key = r.s3_secret_access_key;
  row.target_key = repo->keys().target_key;
  row.gc_hour = r.gc_hour;
  row.gc_grace_seconds = r.gc_grace_seconds;
  auto inserted = meta_.CreateBackupTarget(row);
  if (!inserted && fresh) {
    // Undo the initialisation, config first: a retry must not find a target
    // there that nobody registered.
    (void)repo->store().Delete(kConfigKey);
    (void)repo->store().Delete(std::string(kKeySlotPrefix) + repo->unlocked_slot().ToString());
  }
  return inserted;
}

Result<meta::BackupTarget> TargetService::UpdateTarget(std::string_view id,
                                                       const UpdateTargetRequest& p) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget current, meta_.GetBackupTarget(id));
  if (p.name) COFFER_RETURN_IF_ERROR(ValidateTargetName(*p.name));
  if (p.gc_hour) COFFER_RETURN_IF_ERROR(ValidateGcHour(*p.gc_hour));
  if (p.gc_grace_seconds) COFFER_RETURN_IF_ERROR(ValidateGcGrace(*p.gc_grace_seconds));

  const bool connection_changes =
      (p.s3_endpoint && *p.s3_endpoint != current.s3_endpoint) ||
      (p.s3_region && *p.s3_region != current.s3_region) ||
      (p.s3_access_key_id && *p.s3_access_key_id != current.s3_access_key_id) ||
      p.s3_secret_access_key.has_value();
  if (connection_changes) {
    COFFER_ASSIGN_OR_RETURN(meta::TargetSecrets secrets, meta_.GetTargetSecrets(id));
    meta::BackupTarget next = current;
    if (p.s3_endpoint) next.s3_endpoint = *p.s3_endpoint;
    if (p.s3_region) next.s3_region = *p.s3_region;
    if (p.s3_access_key_id) next.s3_access_key_id = *p.s3_access_key_id;
    const meta::SecretString& secret =
        p.s3_secret_access_key ? *p.s3_secret_access_key : secrets.s3_secret_access_key;
    COFFER_RETURN_IF_ERROR(ValidateConnection(next.address, next.s3_endpoint, next.s3_region,
                                              next.s3_access_key_id, !secret.empty()));
    StoreOptions so = ForProbe(StoreOptionsFor(next, secret), options_.probe_timeout);
    so.create = false;  // the target exists; a missing directory is an error
    COFFER_ASSIGN_OR_RETURN(auto store, OpenForProbe(next.address, so));
    if (auto st = Probe(*store); !st) return std::unexpected(ProbeError(st.error(), next.address));
    // The new connection must reach this very target.
    auto repo = Repository::OpenWithKey(std::move(store), secrets.target_key);
    if (!repo) {
      if (repo.error().code() == ErrorCode::kNotFound ||
          repo.error().code() == ErrorCode::kCorruption) {
        return FieldError("s3_endpoint", "the new connection does not reach this target: " +
                                             repo.error().message());
      }
      return std::unexpected(ProbeError(repo.error(), next.address));
    }
    if ((*repo)->config().target_id.ToString() != current.id) {
      return FieldError("s3_endpoint", "the new connection reaches another target (uuid " +
                                           (*repo)->config().target_id.ToString() + ")");
    }
  }

  meta::BackupTargetPatch patch;
  patch.name = p.name;
  patch.s3_endpoint = p.s3_endpoint;
  patch.s3_region = p.s3_region;
  patch.s3_access_key_id = p.s3_access_key_id;
  patch.s3_secret_access_key = p.s3_secret_access_key;
  patch.gc_hour = p.gc_hour;
  patch.gc_grace_seconds = p.gc_grace_seconds;
  return meta_.UpdateBackupTarget(id, patch);
}

Result<std::unique_ptr<Repository>> TargetService::OpenRepository(std::string_view target_id) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta_.GetBackupTarget(target_id));
  COFFER_ASSIGN_OR_RETURN(meta::TargetSecrets secrets, meta_.GetTargetSecrets(target_id));
  COFFER_ASSIGN_OR_RETURN(
      auto store,
      AddContext(OpenStore(target.address, StoreOptionsFor(target, secrets.s3_secret_access_key)),
                 "target " + target.name));
  return AddContext(Repository::OpenWithKey(std::move(store), secrets.target_key),
                    "target " + target.name);
}

Result<std::unique_ptr<Repository>> TargetService::OpenRepositoryWithPassphrase(
    std::string_view target_id, std::string_view passphrase) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta_.GetBackupTarget(target_id));
  StoreOptions so;
  if (IsS3(target.address)) {
    auto secrets = meta_.GetTargetSecrets(target_id);
    if (secrets) {
      so = StoreOptionsFor(target, secrets->s3_secret_access_key);
    } else {
      // A lost master key: the environment's credentials (OpenStore's default).
      so = StoreOptionsFor(target, meta::SecretString());
      so.s3_credentials.reset();
    }
  }
  COFFER_ASSIGN_OR_RETURN(auto store,
                          AddContext(OpenStore(target.address, so), "target " + target.name));
  return AddContext(Repository::Open(std::move(store), passphrase), "target " + target.name);
}

Result<JobTarget> TargetService::GetJobTarget(std::string_view target_id) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta_.GetBackupTarget(target_id));
  COFFER_ASSIGN_OR_RETURN(meta::TargetSecrets secrets, meta_.GetTargetSecrets(target_id));
  JobTarget j;
  j.address = target.address;
  j.s3_endpoint = target.s3_endpoint;
  // The region the manager itself uses, not whatever the agent's
  // environment would pick for an empty one.
  j.s3_region = IsS3(target.address) && target.s3_region.empty() ? "us-east-1" : target.s3_region;
  j.s3_access_key_id = target.s3_access_key_id;
  j.s3_secret_access_key = std::move(secrets.s3_secret_access_key);
  j.target_key = secrets.target_key;
  return j;
}

Status TargetService::DeleteBackup(std::string_view backup_id) {
  COFFER_ASSIGN_OR_RETURN(meta::Backup backup, meta_.GetBackup(backup_id));
  if (backup.status == meta::BackupStatus::kRunning) {
    return Conflict("backup " + backup.id + " is running; it can be deleted once it ends");
  }
  // Only a uuid can name a manifest; a row with another id never had one.
  if (auto uuid = Uuid::Parse(backup.id)) {
    COFFER_ASSIGN_OR_RETURN(auto repo, OpenRepository(backup.target_id));
    COFFER_RETURN_IF_ERROR(
        AddContext(repo->DeleteManifest(*uuid), "deleting the manifest of backup " + backup.id));
  }
  return meta_.DeleteBackup(backup.id);
}

}  // namespace coffer::manager
