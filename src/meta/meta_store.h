// MetaStore: the manager's metadata database (DESIGN §4–§5) behind one
// interface, on SQLite (embedded, the default) or PostgreSQL (several manager
// replicas). Both run the same SQL and the same migrations (meta/sql/); the
// conformance suite (meta_store_conformance.h) runs every test on both.
//
// What it guarantees beyond CRUD:
//   - Unique names (agent, volume, target): kAlreadyExists.
//   - References: deleting an agent that volumes use, a volume that has
//     backups, a target that backups or volumes reference (unless forced),
//     or anything a running backup or a live lease needs: kConflict. Creating
//     a row that names a missing agent, volume or target: kInvalidArgument.
//   - Backups go running → completed | failed, nothing else. Every report from
//     an agent job carries the attempt number it was started with (its fencing
//     token); a report with a stale attempt, or for a backup that is no longer
//     running, is refused with kConflict, so a job declared dead that comes back
//     cannot commit. At most one backup of a volume runs at a time.
//   - Per-target exclusion (DESIGN §5): a kGc lease is granted only while no
//     other lease is live and no backup of the target is running; a backup
//     (CreateBackup, or a kBackup lease) only while no other holder's kGc lease
//     is live. All checks happen in one transaction under the target's row lock.
//   - Secrets (agent tokens, S3 secret keys, target keys) are stored wrapped
//     with AES-256-GCM under the master key (secret_box.h); records never carry
//     them (types.h).
//
// Times (created, started, heartbeat, finished, lease expiry) come from the
// clock in MetaStoreOptions. Lease expiry compares clocks of different
// replicas, so replicas need synchronised clocks (NTP); leases should be far
// longer than the expected skew.
//
// Every call is one transaction. Errors: kNotFound for a missing id,
// kUnavailable when the database is busy or unreachable (a retry may help),
// kAuthFailed when a secret does not unwrap (wrong master key or a tampered
// row), kInternal for anything unexpected from the database.
//
// Thread safety: a MetaStore may be used from any number of threads at once.
// Several MetaStores (processes, replicas) may share one database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/crypto/secret.h"
#include "meta/types.h"

namespace coffer::meta {

// Leadership among manager replicas sharing one database: the scheduler, GC,
// retention and reconciler loops run only on the replica that holds it.
// PostgreSQL: a session advisory lock on a connection of the lock's own
// (lost if that connection drops). SQLite: an exclusive flock on the file
// "<database>-leader" (one process at a time; within one process, one lock
// object at a time).
//
// Thread safety: one thread at a time per object.
class LeaderLock {
 public:
  virtual ~LeaderLock() = default;  // releases leadership if held

  // Tries once, without waiting. True if this object now holds leadership
  // (also when it already did); false if another holder has it.
  virtual Result<bool> TryAcquire() = 0;
  // Whether leadership is still held, checking the connection on PostgreSQL.
  // A leader should call it before each round of work and stop when false.
  virtual Result<bool> StillHeld() = 0;
  virtual void Release() = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;
  // Whether the database answers a trivial read; kUnavailable when not.
  virtual Status Ping() = 0;

  // ---- agents ----
  virtual Result<Agent> CreateAgent(const NewAgent& agent) = 0;
  virtual Result<Agent> GetAgent(std::string_view id) = 0;
  virtual Result<std::vector<Agent>> ListAgents() = 0;  // by name
  virtual Result<Agent> UpdateAgent(std::string_view id, const AgentPatch& patch) = 0;
  virtual Status DeleteAgent(std::string_view id) = 0;  // kConflict while volumes use it
  virtual Result<SecretString> GetAgentToken(std::string_view id) = 0;

  // ---- backup targets ----
  virtual Result<BackupTarget> CreateBackupTarget(const NewBackupTarget& target) = 0;
  virtual Result<BackupTarget> GetBackupTarget(std::string_view id) = 0;
  virtual Result<std::vector<BackupTarget>> ListBackupTargets() = 0;  // by name
  virtual Result<BackupTarget> UpdateBackupTarget(std::string_view id,
                                                  const BackupTargetPatch& patch) = 0;
  // kConflict while backups or volumes reference it; `force` deletes its
  // backup rows and unschedules its volumes instead. Even forced, kConflict
  // while a backup of it runs or a lease on it is live. Its GC runs go too.
  virtual Status DeleteBackupTarget(std::string_view id, bool force) = 0;
  virtual Result<TargetSecrets> GetTargetSecrets(std::string_view id) = 0;

  // ---- volumes ----
  virtual Result<Volume> CreateVolume(const Volume& volume) = 0;
  virtual Result<Volume> GetVolume(std::string_view id) = 0;
  virtual Result<std::vector<Volume>> ListVolumes() = 0;  // by name
  virtual Result<Volume> UpdateVolume(std::string_view id, const VolumePatch& patch) = 0;
  virtual Result<Volume> SetVolumeSchedule(std::string_view id, const VolumeSchedule& s) = 0;
  // kConflict while it has backups or a restore into it runs; the rows of
  // the restores that made it go with it.
  virtual Status DeleteVolume(std::string_view id) = 0;

  // ---- restores ----
  // A running restore, started and heard from now. kNotFound for a missing
  // volume or agent; kAlreadyExists if the id is taken.
  virtual Result<Restore> CreateRestore(const NewRestore& restore) = 0;
  virtual Result<Restore> GetRestore(std::string_view id) = 0;
  virtual Result<std::vector<Restore>> ListRestores(const RestoreFilter& filter) = 0;
  // A running restore's progress (and a heartbeat). kConflict once it ended.
  virtual Status UpdateRestoreProgress(std::string_view id, int64_t total_bytes,
                                       int64_t done_bytes) = 0;
  // Ends a running restore: kCompleted with the agent's result, or kFailed
  // with a reason. kConflict when it already ended (the first word wins).
  virtual Result<Restore> FinishRestore(std::string_view id, RestoreState state,
                                        std::string_view result, std::string_view error) = 0;

  // ---- backups ----
  // Starts a backup: status running, attempt 1, started and heartbeat now.
  // kConflict if the volume has a running backup or another holder has a live
  // kGc lease on the target; kAlreadyExists if the id is taken.
  virtual Result<Backup> CreateBackup(const NewBackup& backup) = 0;
  virtual Result<Backup> GetBackup(std::string_view id) = 0;
  virtual Result<std::vector<Backup>> ListBackups(const BackupFilter& filter) = 0;
  // Starts a new attempt of a running backup (its job is being re-sent):
  // returns the new attempt number; reports with older ones are refused.
  virtual Result<int64_t> NewBackupAttempt(std::string_view id) = 0;
  // The fenced reports of a running backup's job. kConflict if `attempt` is
  // not the current one or the backup is no longer running.
  virtual Status SetBackupAgentJob(std::string_view id, int64_t attempt,
                                   std::string_view agent_job_id) = 0;
  virtual Status HeartbeatBackup(std::string_view id, int64_t attempt) = 0;
  virtual Result<Backup> CompleteBackup(std::string_view id, int64_t attempt,
                                        const BackupStats& stats, int64_t duration_ms) = 0;
  virtual Result<Backup> FailBackup(std::string_view id, int64_t attempt,
                                    std::string_view error) = 0;
  // FailBackup for the reconciler: only while the backup is still silent
  // (its last heartbeat older than `silent_since_us`). A backup heard from
  // meanwhile (a heartbeat, or the manager's approval of its commit) is
  // kConflict, so that an approved commit and a failure never both happen.
  virtual Result<Backup> FailSilentBackup(std::string_view id, int64_t attempt,
                                          int64_t silent_since_us, std::string_view error) = 0;
  // Running backups whose last heartbeat is older than `silent_since_us`:
  // the reconciler's candidates (it fails them with their attempt number).
  virtual Result<std::vector<Backup>> ListSilentBackups(int64_t silent_since_us) = 0;
  // Deletes the row (the caller has deleted the manifest first). kConflict
  // while running.
  virtual Status DeleteBackup(std::string_view id) = 0;
  // Index rebuild: inserts a completed backup found in the target, as given.
  // kAlreadyExists if the id is known; kInvalidArgument unless completed.
  virtual Status ImportBackup(const Backup& backup) = 0;

  // ---- GC runs ----
  virtual Result<GcRun> CreateGcRun(std::string_view target_id) = 0;
  // kConflict unless the run is running. Releases result.lease_holder's
  // lease on the run's target in the same transaction, if one is named.
  virtual Result<GcRun> FinishGcRun(std::string_view id, const GcRunResult& result) = 0;
  virtual Result<GcRun> GetGcRun(std::string_view id) = 0;
  virtual Result<std::vector<GcRun>> ListGcRuns(std::string_view target_id,
                                                int64_t limit) = 0;  // newest first; 0: all

  // ---- per-target leases (DESIGN §5) ----
  // Grants `holder` a lease of `kind` on the target until now + ttl, or
  // extends it if the holder has one (changing its kind). kConflict when the
  // exclusion rules above refuse it; kNotFound for a missing target.
  virtual Result<TargetLease> AcquireTargetLease(std::string_view target_id, LeaseKind kind,
                                                 std::string_view holder,
                                                 std::chrono::milliseconds ttl) = 0;
  // Extends a live lease to now + ttl. kConflict if the holder has no live
  // lease (it expired): the holder has lost it and must stop.
  virtual Result<TargetLease> RenewTargetLease(std::string_view target_id, std::string_view holder,
                                               std::chrono::milliseconds ttl) = 0;
  // Gives the lease up; not an error if it is not held.
  virtual Status ReleaseTargetLease(std::string_view target_id, std::string_view holder) = 0;
  virtual Result<std::vector<TargetLease>> ListTargetLeases(std::string_view target_id) = 0;

  // ---- API tokens ----
  virtual Result<ApiToken> CreateApiToken(std::string_view name, std::string_view token_hash) = 0;
  virtual Result<ApiToken> FindApiTokenByHash(std::string_view token_hash) = 0;
  virtual Result<std::vector<ApiToken>> ListApiTokens() = 0;
  virtual Status DeleteApiToken(std::string_view id) = 0;

  // ---- leadership ----
  virtual Result<std::unique_ptr<LeaderLock>> NewLeaderLock() = 0;
};

struct MetaStoreOptions {
  SecretKey master_key;  // wraps the secrets (LoadOrCreateMasterKey)
  // Microseconds since the epoch; tests pass a clock they move.
  std::function<int64_t()> clock_us;  // empty: the system clock
  int postgres_connections = 4;       // pool size
  std::chrono::milliseconds busy_timeout{5000};
};

// Opens (and migrates) the database at `url`:
//   "postgresql://…" or "postgres://…"   PostgreSQL (libpq connection URI)
//   "sqlite://PATH", "sqlite:PATH", or a plain path   a SQLite file, created if missing
Result<std::unique_ptr<MetaStore>> OpenMetaStore(std::string_view url, MetaStoreOptions options);

}  // namespace coffer::meta
