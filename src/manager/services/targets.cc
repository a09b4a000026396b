#include "manager/services/targets.h"

#include "base/bytes.h"
#include "base/uuid.h"
#include "manager/services/target_checks.h"
#include "store/target_address.h"

namespace coffer::manager {
namespace {

// A fresh target in the probed store, or (adopt) the one already there.
struct Opened {
  std::unique_ptr<Repository> repo;
  bool fresh = false;  // initialised by this call: undo it if the insert fails
};

Result<Opened> OpenOrInit(meta::MetaStore& meta, std::unique_ptr<ObjectStore> store,
                          const CreateTargetRequest& r, const Argon2Params& argon2) {
  auto config = Repository::Probe(*store);
  if (config) {
    if (!r.adopt) {
      return AlreadyExists("address: " + r.address +
                           " already holds a Coffer target (target uuid " +
                           config->target_id.ToString() + "); set adopt to register it");
    }
    auto opened = Repository::Open(std::move(store), r.passphrase.Reveal());
    if (!opened) return std::unexpected(ProbeError(opened.error(), r.address));
    const std::string uuid = (*opened)->config().target_id.ToString();
    if (meta.GetBackupTarget(uuid)) {
      return AlreadyExists("address: the target there (uuid " + uuid + ") is already registered");
    }
    return Opened{std::move(*opened), false};
  }
  if (config.error().code() == ErrorCode::kInvalidArgument) {
    return AlreadyExists("address: " + r.address +
                         " holds a target Coffer cannot use: " + config.error().message());
  }
  if (config.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(ProbeError(config.error(), r.address));
  }
  InitOptions init;
  init.argon2 = argon2;
  auto made = Repository::Init(std::move(store), r.passphrase.Reveal(), init);
  if (!made) return std::unexpected(ProbeError(made.error(), r.address));
  return Opened{std::move(*made), true};
}

meta::NewBackupTarget RowFor(const CreateTargetRequest& r, const Repository& repo) {
  meta::NewBackupTarget row;
  row.id = repo.config().target_id.ToString();
  row.name = r.name;
  row.address = r.address;
  row.s3_endpoint = r.s3_endpoint;
  row.s3_region = r.s3_region;
  row.s3_access_key_id = r.s3_access_key_id;
  row.s3_secret_access_key = r.s3_secret_access_key;
  row.target_key = repo.keys().target_key;
  row.gc_hour = r.gc_hour;
  row.gc_grace_seconds = r.gc_grace_seconds;
  return row;
}

}  // namespace

StoreOptions TargetService::StoreOptionsFor(const meta::BackupTarget& target,
                                            const meta::SecretString& s3_secret) const {
  StoreOptions o;
  if (TargetAddress::IsS3(target.address)) {
    o.s3_credentials = AwsCredentials{target.s3_access_key_id, s3_secret.Reveal(), ""};
    o.s3_endpoint = target.s3_endpoint;
    o.s3_region = target.s3_region.empty() ? "us-east-1" : target.s3_region;
    o.s3_ca_file = options_.s3_ca_file;
  }
  return o;
}

Result<meta::BackupTarget> TargetService::CreateTarget(const CreateTargetRequest& r) {
  COFFER_RETURN_IF_ERROR(ValidateCreateRequest(r));
  COFFER_RETURN_IF_ERROR(ValidatePlace(r.address, r.s3_endpoint, options_.places));
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
  if (auto st = ProbeObjects(*store); !st) {
    return std::unexpected(ProbeError(st.error(), r.address));
  }
  COFFER_ASSIGN_OR_RETURN(Opened opened, OpenOrInit(meta_, std::move(store), r, options_.argon2));

  auto inserted = meta_.CreateBackupTarget(RowFor(r, *opened.repo));
  if (!inserted && opened.fresh) {
    // Undo the initialisation, config first: a retry must not find a target
    // there that nobody registered.
    ObjectStore& s = opened.repo->store();
    (void)s.Delete(kConfigKey);
    (void)s.Delete(std::string(kKeySlotPrefix) + opened.repo->unlocked_slot().ToString());
  }
  return inserted;
}

Status TargetService::ProbeConnection(const meta::BackupTarget& next,
                                      const meta::SecretString& secret,
                                      const SecretKey& target_key) const {
  COFFER_RETURN_IF_ERROR(ValidateConnection(next.address, next.s3_endpoint, next.s3_region,
                                            next.s3_access_key_id, !secret.empty()));
  COFFER_RETURN_IF_ERROR(ValidatePlace(next.address, next.s3_endpoint, options_.places));
  StoreOptions so = ForProbe(StoreOptionsFor(next, secret), options_.probe_timeout);
  so.create = false;  // the target exists; a missing directory is an error
  COFFER_ASSIGN_OR_RETURN(auto store, OpenForProbe(next.address, so));
  if (auto st = ProbeObjects(*store); !st) {
    return std::unexpected(ProbeError(st.error(), next.address));
  }
  // The new connection must reach this very target.
  auto repo = Repository::OpenWithKey(std::move(store), target_key);
  if (!repo) {
    if (repo.error().code() == ErrorCode::kNotFound ||
        repo.error().code() == ErrorCode::kCorruption) {
      return FieldError("s3_endpoint",
                        "the new connection does not reach this target: " + repo.error().message());
    }
    return std::unexpected(ProbeError(repo.error(), next.address));
  }
  if ((*repo)->config().target_id.ToString() != next.id) {
    return FieldError("s3_endpoint", "the new connection reaches another target (uuid " +
                                         (*repo)->config().target_id.ToString() + ")");
  }
  return {};
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
    COFFER_RETURN_IF_ERROR(ProbeConnection(
        next, p.s3_secret_access_key ? *p.s3_secret_access_key : secrets.s3_secret_access_key,
        secrets.target_key));
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
  if (TargetAddress::IsS3(target.address)) {
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

Result<agent_api::TargetSpec> TargetService::GetJobTarget(std::string_view target_id) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta_.GetBackupTarget(target_id));
  COFFER_ASSIGN_OR_RETURN(meta::TargetSecrets secrets, meta_.GetTargetSecrets(target_id));
  agent_api::TargetSpec t;
  t.address = target.address;
  t.s3_endpoint = target.s3_endpoint;
  t.s3_region = TargetAddress::IsS3(target.address) && target.s3_region.empty() ? "us-east-1"
                                                                                : target.s3_region;
  if (!target.s3_access_key_id.empty()) {
    t.s3_credentials =
        AwsCredentials{target.s3_access_key_id, secrets.s3_secret_access_key.Reveal(), ""};
  }
  t.key = secrets.target_key;
  return t;
}

Result<std::vector<meta::GcRun>> TargetService::GcRuns(const std::string& target_id,
                                                       int64_t limit) {
  COFFER_RETURN_IF_ERROR(meta_.GetBackupTarget(target_id));
  return meta_.ListGcRuns(target_id, limit);
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
