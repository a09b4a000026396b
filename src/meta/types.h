// The manager's metadata records (DESIGN §4–§5) as plain values: agents,
// volumes, backup targets, backups, GC runs, target leases and API tokens.
//
// Secrets never sit in a record. Agent has no token and BackupTarget has no
// S3 secret key or target key: they go in through NewAgent / NewBackupTarget
// and the patches (as SecretString / SecretKey, wiped on release) and come
// out only through MetaStore::GetAgentToken and MetaStore::GetTargetSecrets.
// Code that turns a record into JSON for the REST API therefore cannot leak a
// secret by accident.
//
// Ids are UUIDs as text (Uuid::ToString). Times are microseconds since the
// Unix epoch (UTC), sizes and counts are bytes and numbers that fit in a
// signed 64-bit integer (the databases' BIGINT).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "core/crypto/secret.h"
#include "volume/backends.h"

namespace coffer::meta {

// A secret string (an agent token, an S3 secret access key) whose bytes are
// wiped when it is released, reassigned or moved from. Reveal() is the only
// way to read it, so every use is easy to find in review. Best effort: copies
// the caller makes of Reveal()'s string are the caller's to wipe.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : s_(std::move(s)) {}
  SecretString(const SecretString& o) : s_(o.s_) {}
  SecretString(SecretString&& o) noexcept : s_(o.s_) { o.Clear(); }
  SecretString& operator=(const SecretString& o);
  SecretString& operator=(SecretString&& o) noexcept;
  ~SecretString() { Clear(); }

  const std::string& Reveal() const { return s_; }
  bool empty() const { return s_.empty(); }
  void Clear() noexcept;

 private:
  std::string s_;
};

// The volume backends are those of the registry (volume/backends.h).
using VolumeBackend = ::coffer::Backend;
enum class BackupStatus { kRunning, kCompleted, kFailed };
enum class GcRunStatus { kRunning, kCompleted, kFailed };
enum class RestoreState { kRunning, kCompleted, kFailed };
// kBackup leases are shared (many backups of one target may run together);
// a kGc lease excludes every other lease and every running backup (DESIGN §5).
enum class LeaseKind { kBackup, kGc };

// The names used in the database and the API: the registry's backend
// names; "running", "completed", "failed"; "backup", "gc".
std::string_view ToString(VolumeBackend b);
std::string_view ToString(BackupStatus s);
std::string_view ToString(GcRunStatus s);
std::string_view ToString(RestoreState s);
std::string_view ToString(LeaseKind k);
// kInvalidArgument for any other name.
Result<VolumeBackend> ParseVolumeBackend(std::string_view s);
Result<BackupStatus> ParseBackupStatus(std::string_view s);
Result<RestoreState> ParseRestoreState(std::string_view s);
Result<GcRunStatus> ParseGcRunStatus(std::string_view s);
Result<LeaseKind> ParseLeaseKind(std::string_view s);

// ---- agents -----------------------------------------------------------------

struct Agent {
  std::string id;
  std::string name;  // unique
  std::string url;   // where the manager calls it, e.g. https://host:8081
  int64_t created_at_us = 0;
};

struct NewAgent {
  std::string id;  // empty: the store picks a random UUID
  std::string name;
  std::string url;
  SecretString token;  // the bearer token the manager presents to the agent
};

struct AgentPatch {
  std::optional<std::string> name;
  std::optional<std::string> url;
  std::optional<SecretString> token;
};

// ---- backup targets ---------------------------------------------------------

struct BackupTarget {
  std::string id;       // also the target's own uuid in its config object
  std::string name;     // unique
  std::string address;  // "s3://bucket/prefix", "file://path" or a path
  std::string s3_endpoint;
  std::string s3_region;
  std::string s3_access_key_id;
  bool has_s3_secret_access_key = false;  // the key itself: GetTargetSecrets
  int gc_hour = 3;                        // local hour of the daily GC, 0..23
  int64_t gc_grace_seconds = 86400;       // DESIGN §5's grace period
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
};

struct NewBackupTarget {
  std::string id;  // empty: the store picks a random UUID
  std::string name;
  std::string address;
  std::string s3_endpoint;
  std::string s3_region;
  std::string s3_access_key_id;
  SecretString s3_secret_access_key;  // empty: none (a local target)
  SecretKey target_key;               // TK (DESIGN §2)
  int gc_hour = 3;
  int64_t gc_grace_seconds = 86400;
};

// What PATCH /v1/backup_targets/{id} may change. The address is not here: a
// different address is a different target.
struct BackupTargetPatch {
  std::optional<std::string> name;
  std::optional<std::string> s3_endpoint;
  std::optional<std::string> s3_region;
  std::optional<std::string> s3_access_key_id;
  std::optional<SecretString> s3_secret_access_key;
  std::optional<int> gc_hour;
  std::optional<int64_t> gc_grace_seconds;
};

// The secrets of a target, unwrapped; only what a job or GC needs to send to
// an agent or open the target. Never serialise this.
struct TargetSecrets {
  SecretString s3_secret_access_key;
  SecretKey target_key;
};

// ---- volumes ----------------------------------------------------------------

struct VolumeHooks {
  std::string pre_backup_command;   // prints the locator of a fresh snapshot
  std::string post_backup_command;  // releases it
  int64_t timeout_seconds = 300;
};

struct Volume {
  std::string id;    // on create: empty picks a random UUID
  std::string name;  // unique
  std::string agent_id;
  VolumeBackend backend = VolumeBackend::kFile;
  std::string locator;
  int64_t size_bytes = 0;
  std::optional<std::string> backup_target_id;  // none: not scheduled anywhere
  std::string backup_cron;                      // 5-field cron; empty: no schedule
  int backup_retain_count = 0;                  // keep-last N; 0: keep all
  VolumeHooks hooks;
  int64_t created_at_us = 0;  // set by the store
};

struct VolumePatch {
  std::optional<std::string> name;
  std::optional<std::string> locator;
  std::optional<int64_t> size_bytes;
  std::optional<VolumeHooks> hooks;
};

// PATCH /v1/volumes/{id}/backup_schedule. The store checks that the target
// exists; the cron expression is the manager's to validate.
struct VolumeSchedule {
  std::optional<std::string> backup_target_id;
  std::string backup_cron;
  int backup_retain_count = 0;
};

// ---- backups ----------------------------------------------------------------

struct BackupStats {
  int64_t logical_bytes = 0;
  int64_t zero_bytes = 0;
  int64_t new_bytes = 0;     // plaintext of chunks this backup added
  int64_t stored_bytes = 0;  // bytes written to the target
  int64_t chunks = 0;
  int64_t new_chunks = 0;
};

struct Backup {
  std::string id;  // the backup uuid, also its manifest's name
  std::string volume_id;
  std::string target_id;
  BackupStatus status = BackupStatus::kRunning;
  // The fencing token (DESIGN §5): raised by NewBackupAttempt, carried by the
  // agent job; a report with an older attempt is refused.
  int64_t attempt = 1;
  std::string agent_job_id;
  BackupStats stats;
  int64_t started_at_us = 0;
  int64_t heartbeat_at_us = 0;  // last sign of life from the agent job
  std::optional<int64_t> finished_at_us;
  int64_t duration_ms = 0;
  std::string error;  // why it failed
};

struct NewBackup {
  std::string id;  // required: the uuid the manifest will carry
  std::string volume_id;
  std::string target_id;
  std::string agent_job_id;  // may be set later with SetBackupAgentJob
};

// GET /v1/backups?volume_id=&status=; unset fields do not filter. Newest
// first (by start time, then id).
struct BackupFilter {
  std::optional<std::string> volume_id;
  std::optional<std::string> target_id;
  std::optional<BackupStatus> status;
  int64_t limit = 0;  // 0: all
};

// ---- restores ----------------------------------------------------------------

// A restore of a completed backup into a new volume (DESIGN §4): a row, so
// that it survives a manager restart and every replica sees it.
struct Restore {
  std::string id;
  std::string backup_id;
  std::string volume_id;  // the new volume it writes
  std::string agent_id;
  std::string agent_job_id;
  RestoreState state = RestoreState::kRunning;
  int64_t total_bytes = 0, done_bytes = 0;  // progress, as of the last poll
  std::string result;                       // the agent's result (JSON) once completed
  std::string error;                        // why it failed
  int64_t started_at_us = 0;
  int64_t heartbeat_at_us = 0;  // last sign of life from the agent job
  std::optional<int64_t> finished_at_us;
};

struct NewRestore {
  std::string id;  // required: a uuid
  std::string backup_id;
  std::string volume_id;
  std::string agent_id;
  std::string agent_job_id;
};

// Newest first (by start time, then id); unset fields do not filter.
struct RestoreFilter {
  std::optional<std::string> volume_id;
  std::optional<RestoreState> state;
  int64_t limit = 0;  // 0: all
};

// ---- GC runs, leases, API tokens ---------------------------------------------

struct GcRun {
  std::string id;
  std::string target_id;
  GcRunStatus status = GcRunStatus::kRunning;
  int64_t started_at_us = 0;
  std::optional<int64_t> finished_at_us;
  int64_t chunks_deleted = 0;
  int64_t bytes_deleted = 0;
  std::string error;
};

struct GcRunResult {
  GcRunStatus status = GcRunStatus::kCompleted;  // kCompleted or kFailed
  int64_t chunks_deleted = 0;
  int64_t bytes_deleted = 0;
  std::string error;
  // If set, the target's lease of this holder is released in the same
  // transaction: whoever sees the run finished finds the target free.
  std::string lease_holder;
};

struct TargetLease {
  std::string target_id;
  std::string holder;  // who holds it: a backup id, "gc:<run id>", a replica
  LeaseKind kind = LeaseKind::kBackup;
  int64_t acquired_at_us = 0;
  int64_t expires_at_us = 0;
};

// An API bearer token, stored only as a hash the manager computes (e.g.
// SHA-256 hex); the token itself is never stored.
struct ApiToken {
  std::string id;
  std::string name;
  std::string token_hash;  // unique
  int64_t created_at_us = 0;
};

}  // namespace coffer::meta
