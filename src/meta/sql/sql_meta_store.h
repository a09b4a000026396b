// SqlMetaStore: the one implementation of MetaStore, over any SqlDb driver
// (SQLite or PostgreSQL). Every query is written once, in SQL both databases
// accept, with $N parameters; see meta/migrations/migrations.h for the schema.
//
// How the guarantees of meta_store.h are kept:
//   - Each method is one transaction. Checks that must not race with another
//     writer (leases, "one running backup per volume", "no backup while GC")
//     first take the target's row lock by bumping backup_target.lease_seq:
//     on PostgreSQL that UPDATE holds the row until commit, on SQLite
//     BEGIN IMMEDIATE holds the whole database. The partial unique index on
//     running backups backs the per-volume rule up in the schema.
//   - Fenced updates carry "WHERE attempt = $n AND status = 'running'"; when
//     they change no row, the store reads the row to say why.
//   - Checks come before writes, so a refused request gets a precise error
//     and never leaves a failed statement inside a PostgreSQL transaction.
//
// The implementation is split by table: sql_meta_store.cc (agents, API
// tokens, common helpers), sql_targets.cc (targets and leases),
// sql_volumes.cc, sql_backups.cc (backups and GC runs).
//
// Thread safety: as MetaStore; the driver serialises or pools connections.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "meta/meta_store.h"
#include "meta/secret_box.h"
#include "meta/sql/sql_db.h"

namespace coffer::meta::sql {

// Column names for SecretBox's associated data.
inline constexpr std::string_view kAgentTokenField = "agent.token";
inline constexpr std::string_view kTargetS3SecretField = "backup_target.s3_secret_access_key";
inline constexpr std::string_view kTargetKeyField = "backup_target.target_key";

class SqlMetaStore final : public MetaStore {
 public:
  // `db` must be migrated already (OpenMetaStore does both).
  SqlMetaStore(std::unique_ptr<SqlDb> db, const MetaStoreOptions& options);

  std::string_view backend() const override { return db_->backend(); }
  Status Ping() override;

  Result<Agent> CreateAgent(const NewAgent& agent) override;
  Result<Agent> GetAgent(std::string_view id) override;
  Result<std::vector<Agent>> ListAgents() override;
  Result<Agent> UpdateAgent(std::string_view id, const AgentPatch& patch) override;
  Status DeleteAgent(std::string_view id) override;
  Result<SecretString> GetAgentToken(std::string_view id) override;

  Result<BackupTarget> CreateBackupTarget(const NewBackupTarget& target) override;
  Result<BackupTarget> GetBackupTarget(std::string_view id) override;
  Result<std::vector<BackupTarget>> ListBackupTargets() override;
  Result<BackupTarget> UpdateBackupTarget(std::string_view id,
                                          const BackupTargetPatch& patch) override;
  Status DeleteBackupTarget(std::string_view id, bool force) override;
  Result<TargetSecrets> GetTargetSecrets(std::string_view id) override;

  Result<Volume> CreateVolume(const Volume& volume) override;
  Result<Volume> GetVolume(std::string_view id) override;
  Result<std::vector<Volume>> ListVolumes() override;
  Result<Volume> UpdateVolume(std::string_view id, const VolumePatch& patch) override;
  Result<Volume> SetVolumeSchedule(std::string_view id, const VolumeSchedule& s) override;
  Status DeleteVolume(std::string_view id) override;

  Result<Backup> CreateBackup(const NewBackup& backup) override;
  Result<Backup> GetBackup(std::string_view id) override;
  Result<std::vector<Backup>> ListBackups(const BackupFilter& filter) override;
  Result<int64_t> NewBackupAttempt(std::string_view id) override;
  Status SetBackupAgentJob(std::string_view id, int64_t attempt,
                           std::string_view agent_job_id) override;
  Status HeartbeatBackup(std::string_view id, int64_t attempt) override;
  Result<Backup> CompleteBackup(std::string_view id, int64_t attempt, const BackupStats& stats,
                                int64_t duration_ms) override;
  Result<Restore> CreateRestore(const NewRestore& restore) override;
  Result<Restore> GetRestore(std::string_view id) override;
  Result<std::vector<Restore>> ListRestores(const RestoreFilter& filter) override;
  Status UpdateRestoreProgress(std::string_view id, int64_t total_bytes,
                               int64_t done_bytes) override;
  Result<Restore> FinishRestore(std::string_view id, RestoreState state, std::string_view result,
                                std::string_view error) override;
  Result<Backup> FailBackup(std::string_view id, int64_t attempt, std::string_view error) override;
  Result<Backup> FailSilentBackup(std::string_view id, int64_t attempt, int64_t silent_since_us,
                                  std::string_view error) override;
  Result<std::vector<Backup>> ListSilentBackups(int64_t silent_since_us) override;
  Status DeleteBackup(std::string_view id) override;
  Status ImportBackup(const Backup& backup) override;

  Result<GcRun> CreateGcRun(std::string_view target_id) override;
  Result<GcRun> FinishGcRun(std::string_view id, const GcRunResult& result) override;
  Result<GcRun> GetGcRun(std::string_view id) override;
  Result<std::vector<GcRun>> ListGcRuns(std::string_view target_id, int64_t limit) override;

  Result<TargetLease> AcquireTargetLease(std::string_view target_id, LeaseKind kind,
                                         std::string_view holder,
                                         std::chrono::milliseconds ttl) override;
  Result<TargetLease> RenewTargetLease(std::string_view target_id, std::string_view holder,
                                       std::chrono::milliseconds ttl) override;
  Status ReleaseTargetLease(std::string_view target_id, std::string_view holder) override;
  Result<std::vector<TargetLease>> ListTargetLeases(std::string_view target_id) override;

  Result<ApiToken> CreateApiToken(std::string_view name, std::string_view token_hash) override;
  Result<ApiToken> FindApiTokenByHash(std::string_view token_hash) override;
  Result<std::vector<ApiToken>> ListApiTokens() override;
  Status DeleteApiToken(std::string_view id) override;

  Result<std::unique_ptr<LeaderLock>> NewLeaderLock() override { return db_->NewLeaderLock(); }

 private:
  int64_t Now() const { return clock_(); }

  template <typename T>
  Result<T> Tx(TxKind kind, const std::function<Result<T>(SqlConn&)>& fn) {
    return TransactValue<T>(*db_, kind, fn);
  }
  Status Tx(TxKind kind, const std::function<Status(SqlConn&)>& fn) {
    return db_->Transact(kind, fn);
  }

  // Row loaders shared by several methods: kNotFound when the row is missing.
  Result<Agent> LoadAgent(SqlConn& c, const std::string& id);
  Result<BackupTarget> LoadTarget(SqlConn& c, const std::string& id);
  Result<Volume> LoadVolume(SqlConn& c, const std::string& id);
  Result<Backup> LoadBackup(SqlConn& c, const std::string& id);
  Result<Restore> LoadRestore(SqlConn& c, const std::string& id);
  Result<GcRun> LoadGcRun(SqlConn& c, const std::string& id);
  // Takes the target's row lock (see above); kNotFound if there is none.
  Status LockTarget(SqlConn& c, const std::string& id);
  // Why a fenced update of a backup changed nothing.
  std::unexpected<Error> ExplainFenceMiss(SqlConn& c, const std::string& id, int64_t attempt);

  std::unique_ptr<SqlDb> db_;
  SecretBox box_;
  std::function<int64_t()> clock_;
};

// ---- helpers shared by the implementation files ----

// A new random UUID as text.
std::string NewId();
// For a create: an id given by the caller must be a UUID (normalised to
// lower case); none gets a new one.
Result<std::string> IdForCreate(std::string_view id, std::string_view what);
// For a lookup: an id that is not a UUID names nothing (kNotFound).
Result<std::string> IdForLookup(std::string_view id, std::string_view what);
// A reference inside a request (volume.agent_id, …) must be a UUID.
Result<std::string> IdForReference(std::string_view id, std::string_view field);
// Names are non-empty, at most 255 bytes, without control characters.
Status CheckName(std::string_view name, std::string_view what);

}  // namespace coffer::meta::sql
