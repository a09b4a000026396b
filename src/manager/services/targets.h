// TargetService: everything the manager does to a backup target's objects
// (DESIGN §3–§5), on top of the metadata store's rows: creating a target
// (validate, probe, initialise, insert with its secrets wrapped), changing its
// connection (re-probed), opening it for GC or index rebuild, handing an
// agent job the connection and key material, and deleting a backup
// (manifest first, then row).
//
// Error mapping for the REST layer (DESIGN §7, issue 5):
//   kInvalidArgument  a bad field; the message starts with the field's name
//                     ("address: ...", "gc_hour: ...")                 → 400
//   kUnavailable      the target cannot be reached: connection refused,
//                     timeout, DNS, 5xx, a missing bucket (NoSuchBucket),
//                     a probe object that reads back wrong              → 422
//   kPermissionDenied the target refuses the credentials or the write
//                     (InvalidAccessKeyId, SignatureDoesNotMatch,
//                     AccessDenied, a read-only directory)             → 422
//   kAlreadyExists    the name is taken, or the location already holds a
//                     target (and adopt was not asked for, or another row
//                     already uses it)                                   → 409
//   kAuthFailed       adopt with a passphrase no key slot opens       → 422
//   kNotFound         no such target / backup row                       → 404
//   kConflict         deleting a running backup                         → 409
// Every probe or initialisation error message starts with
// "target <address>: " and carries the S3 error code where there is one
// (e.g. "... InvalidAccessKeyId: ... (HTTP 403)"). Probes do not wait out
// the usual S3 retry budget: an unreachable endpoint fails within about
// TargetServiceOptions::probe_timeout.
//
// Thread safety: a TargetService holds no mutable state; every method may be
// called from many threads at once (the MetaStore is thread safe).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent_api/protocol.h"
#include "base/error.h"
#include "core/crypto/password.h"
#include "core/crypto/secret.h"
#include "engine/repository.h"
#include "meta/meta_store.h"
#include "store/open_store.h"

namespace coffer::manager {

// Where the manager lets a target live. It creates a missing directory, as
// root on most hosts, and calls the S3 endpoint it is given with the
// target's credentials, so neither may point anywhere an API client likes.
struct TargetPlaces {
  // S3 endpoints at link-local addresses (cloud metadata services).
  bool allow_link_local = false;
  // No directory target at or under these (the manager's data directory,
  // the system's own: /etc, /usr, /boot, …), nor at "/".
  std::vector<std::string> refused_dirs = DefaultRefusedDirs();
  // When not empty, directory targets only at or under one of these.
  std::vector<std::string> directory_roots;

  static std::vector<std::string> DefaultRefusedDirs();
};

// POST /v1/backup_targets.
struct CreateTargetRequest {
  std::string name;  // required, 1..128 printable characters, unique
  // "s3://bucket/prefix" (prefix may be empty), "file:///abs/path" or
  // "/abs/path". A missing local directory is created (as `coffer init`).
  std::string address;
  // S3 only (kInvalidArgument on a local target): endpoint "http(s)://host[:port]"
  // (empty: AWS), region (empty: us-east-1), and both credentials, which are
  // required for S3: the manager never falls back to its own environment.
  std::string s3_endpoint;
  std::string s3_region;
  std::string s3_access_key_id;
  meta::SecretString s3_secret_access_key;
  int gc_hour = 3;                   // UTC hour of the daily GC, 0..23
  int64_t gc_grace_seconds = 86400;  // DESIGN §5 grace, 0..365 days
  // Required, at least 8 characters: it becomes the target's first key slot
  // (Argon2id), so the target can be restored with nothing but the bucket and
  // this passphrase, even if the manager and its database are lost. The
  // manager does not keep it.
  meta::SecretString passphrase;
  // The location already holds a Coffer target (e.g. after losing the
  // manager's database): open it with `passphrase` and register it under its
  // own uuid instead of refusing with kAlreadyExists. Its backups come back
  // with IndexRebuild.
  bool adopt = false;
};

// PATCH /v1/backup_targets/{id}; unset fields stay. The address cannot change.
struct UpdateTargetRequest {
  std::optional<std::string> name;
  std::optional<std::string> s3_endpoint;
  std::optional<std::string> s3_region;
  std::optional<std::string> s3_access_key_id;
  std::optional<meta::SecretString> s3_secret_access_key;
  std::optional<int> gc_hour;
  std::optional<int64_t> gc_grace_seconds;
};

struct TargetServiceOptions {
  // Key slot parameters for new targets (never below INTERACTIVE).
  Argon2Params argon2 = DefaultArgon2Params();
  // How long a probe (create/update) may take before the target counts as
  // unreachable: bounds the S3 connect timeout and the retry budget.
  std::chrono::milliseconds probe_timeout{8000};
  // Trust this PEM bundle for https S3 endpoints (tests); empty: the system's.
  std::string s3_ca_file;
  // Where targets may live (target_checks.h, ValidatePlace).
  TargetPlaces places;
};

class TargetService {
 public:
  explicit TargetService(meta::MetaStore& meta, TargetServiceOptions options = {})
      : meta_(meta), options_(std::move(options)) {}

  // Validates, probes (writes, reads back and deletes a probe object),
  // initialises the target's layout with a fresh TK and a key slot for the
  // passphrase (or, with adopt, opens the existing target), and inserts the
  // row with the S3 secret and TK wrapped. The row id is the target's own
  // uuid. If the insert fails after a fresh initialisation, the objects just
  // written are removed again so that a retry is not refused.
  Result<meta::BackupTarget> CreateTarget(const CreateTargetRequest& request);

  // Applies the patch. When the endpoint, region or credentials change, the
  // new connection is probed and must reach this very target (its config
  // verifies under the stored TK) before anything is saved; kInvalidArgument
  // ("s3_endpoint: ...") if it reaches a different or no target.
  Result<meta::BackupTarget> UpdateTarget(std::string_view id, const UpdateTargetRequest& patch);

  // Opens the target with its stored key (OpenStore with explicit
  // credentials, then Repository::OpenWithKey). For GC, retention, index
  // rebuild and restores driven by the manager itself.
  Result<std::unique_ptr<Repository>> OpenRepository(std::string_view target_id);

  // Opens the target through a key slot instead of the stored TK (index
  // rebuild with --passphrase-file). The S3 secret comes from the database;
  // if it cannot be unwrapped (a lost master key), from AWS_ACCESS_KEY_ID /
  // AWS_SECRET_ACCESS_KEY. kAuthFailed if no slot opens.
  Result<std::unique_ptr<Repository>> OpenRepositoryWithPassphrase(std::string_view target_id,
                                                                   std::string_view passphrase);

  // The connection and key material for an agent job (DESIGN §4): kept in
  // memory only, for the one request it goes into. Never log or return it.
  // The S3 region is never empty for an S3 target: the manager's default
  // (us-east-1), not whatever the agent's environment would pick.
  Result<agent_api::TargetSpec> GetJobTarget(std::string_view target_id);

  Result<meta::BackupTarget> Get(const std::string& id) { return meta_.GetBackupTarget(id); }
  Result<std::vector<meta::BackupTarget>> List() { return meta_.ListBackupTargets(); }
  // kConflict while volumes or backups refer to it, unless `force` (then
  // its backup rows go too; the objects in the target stay).
  Status Delete(const std::string& id, bool force) { return meta_.DeleteBackupTarget(id, force); }
  // The target's GC runs, newest first (limit 0: all), and one of them.
  Result<std::vector<meta::GcRun>> GcRuns(const std::string& target_id, int64_t limit);
  Result<meta::GcRun> GcRun(const std::string& run_id) { return meta_.GetGcRun(run_id); }

  // Deletes a backup (DESIGN §5): its manifest object first, then its row.
  // A manifest that is already gone is fine. kConflict while it is running
  // (the row is untouched), kNotFound for an unknown id; if the manifest
  // delete fails the row stays, so the call can simply be repeated.
  Status DeleteBackup(std::string_view backup_id);

  // The store options for a target row: explicit credentials, endpoint,
  // region. Exposed for the index rebuild and tests.
  StoreOptions StoreOptionsFor(const meta::BackupTarget& target,
                               const meta::SecretString& s3_secret) const;

 private:
  // Probes a changed connection (`next`, with `secret`) and checks that it
  // reaches the target whose key is `target_key`.
  Status ProbeConnection(const meta::BackupTarget& next, const meta::SecretString& secret,
                         const SecretKey& target_key) const;

  meta::MetaStore& meta_;
  TargetServiceOptions options_;
};

// Field checks shared with the REST layer's own validation; each returns
// kInvalidArgument naming the field.
Status ValidateTargetName(std::string_view name);
Status ValidateGcHour(int hour);
Status ValidateGcGrace(int64_t seconds);

}  // namespace coffer::manager
