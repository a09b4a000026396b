// SqlMetaStore: backups (with the fencing rule) and GC runs.
#include <limits>

#include "base/text.h"
#include "meta/sql/sql_meta_store.h"

namespace coffer::meta::sql {

#define COFFER_BACKUP_COLUMNS                                                \
  "id, volume_id, target_id, status, attempt, agent_job_id, logical_bytes,"  \
  " zero_bytes, new_bytes, stored_bytes, chunks, new_chunks, started_at_us," \
  " heartbeat_at_us, finished_at_us, duration_ms, error"

#define COFFER_GC_RUN_COLUMNS \
  "id, target_id, status, started_at_us, finished_at_us, chunks_deleted, bytes_deleted, error"

namespace {

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

Result<Backup> DecodeBackup(const SqlRow& row) {
  RowReader r(row);
  Backup b;
  b.id = r.Text();
  b.volume_id = r.Text();
  b.target_id = r.Text();
  std::string status = r.Text();
  b.attempt = r.Int();
  b.agent_job_id = r.Text();
  b.stats.logical_bytes = r.Int();
  b.stats.zero_bytes = r.Int();
  b.stats.new_bytes = r.Int();
  b.stats.stored_bytes = r.Int();
  b.stats.chunks = r.Int();
  b.stats.new_chunks = r.Int();
  b.started_at_us = r.Int();
  b.heartbeat_at_us = r.Int();
  b.finished_at_us = r.OptInt();
  b.duration_ms = r.Int();
  b.error = r.Text();
  if (!r.ok()) return Corruption("malformed backup row " + b.id);
  COFFER_ASSIGN_OR_RETURN(b.status, ParseBackupStatus(status));
  return b;
}

Result<std::vector<Backup>> DecodeBackups(const SqlResult& res) {
  std::vector<Backup> out;
  out.reserve(res.rows.size());
  for (const auto& row : res.rows) {
    COFFER_ASSIGN_OR_RETURN(auto b, DecodeBackup(row));
    out.push_back(std::move(b));
  }
  return out;
}

Result<GcRun> DecodeGcRun(const SqlRow& row) {
  RowReader r(row);
  GcRun g;
  g.id = r.Text();
  g.target_id = r.Text();
  std::string status = r.Text();
  g.started_at_us = r.Int();
  g.finished_at_us = r.OptInt();
  g.chunks_deleted = r.Int();
  g.bytes_deleted = r.Int();
  g.error = r.Text();
  if (!r.ok()) return Corruption("malformed backup_gc_run row " + g.id);
  COFFER_ASSIGN_OR_RETURN(g.status, ParseGcRunStatus(status));
  return g;
}

Status CheckStats(const BackupStats& s) {
  for (int64_t v :
       {s.logical_bytes, s.zero_bytes, s.new_bytes, s.stored_bytes, s.chunks, s.new_chunks}) {
    if (v < 0) return InvalidArgument("backup statistics must not be negative");
  }
  return {};
}

}  // namespace

Result<Backup> SqlMetaStore::LoadBackup(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("SELECT " COFFER_BACKUP_COLUMNS " FROM backup WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no backup " + id);
  return DecodeBackup(res.rows[0]);
}

std::unexpected<Error> SqlMetaStore::ExplainFenceMiss(SqlConn& c, const std::string& id,
                                                      int64_t attempt) {
  auto b = LoadBackup(c, id);
  if (!b) return std::unexpected(b.error());
  if (b->status != BackupStatus::kRunning) {
    return Conflict("backup " + id + " is " + std::string(ToString(b->status)) + ", not running");
  }
  return Conflict("backup " + id + ": attempt " + std::to_string(attempt) +
                  " is stale, the current attempt is " + std::to_string(b->attempt));
}

Result<Backup> SqlMetaStore::CreateBackup(const NewBackup& in) {
  if (in.id.empty()) return InvalidArgument("a new backup needs its uuid");
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForCreate(in.id, "backup"));
  COFFER_ASSIGN_OR_RETURN(std::string volume_id, IdForReference(in.volume_id, "volume_id"));
  COFFER_ASSIGN_OR_RETURN(std::string target_id, IdForReference(in.target_id, "target_id"));
  return Tx<Backup>(TxKind::kWrite, [&](SqlConn& c) -> Result<Backup> {
    // The target's lock first, so that this check and a GC lease's check of
    // running backups cannot interleave.
    Status locked = LockTarget(c, target_id);
    if (!locked && locked.error().code() == ErrorCode::kNotFound) {
      return InvalidArgument("target_id " + target_id + ": no such backup target");
    }
    COFFER_RETURN_IF_ERROR(locked);
    COFFER_ASSIGN_OR_RETURN(bool volume,
                            Exists(c, "SELECT id FROM volume WHERE id = $1", {volume_id}));
    if (!volume) return InvalidArgument("volume_id " + volume_id + ": no such volume");
    const int64_t now = Now();
    COFFER_ASSIGN_OR_RETURN(
        auto gc, c.Exec("SELECT holder FROM target_lease WHERE target_id = $1 AND kind = 'gc'"
                        " AND expires_at_us > $2 ORDER BY holder",
                        {target_id, now}));
    if (!gc.rows.empty()) {
      return Conflict("backup target " + target_id + " is being garbage-collected by '" +
                      RowReader(gc.rows[0]).Text() + "'");
    }
    COFFER_ASSIGN_OR_RETURN(
        auto running,
        c.Exec("SELECT id FROM backup WHERE volume_id = $1 AND status = 'running'", {volume_id}));
    if (!running.rows.empty()) {
      return Conflict("volume " + volume_id + " already has a running backup, " +
                      RowReader(running.rows[0]).Text());
    }
    COFFER_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT id FROM backup WHERE id = $1", {id}));
    if (taken) return AlreadyExists("backup " + id + " already exists");
    COFFER_RETURN_IF_ERROR(
        c.Exec("INSERT INTO backup (id, volume_id, target_id, status, attempt, agent_job_id,"
               " started_at_us, heartbeat_at_us) VALUES ($1, $2, $3, 'running', 1, $4, $5, $5)",
               {id, volume_id, target_id, in.agent_job_id, now}));
    return LoadBackup(c, id);
  });
}

Result<Backup> SqlMetaStore::GetBackup(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  return Tx<Backup>(TxKind::kRead, [&](SqlConn& c) { return LoadBackup(c, id); });
}

Result<std::vector<Backup>> SqlMetaStore::ListBackups(const BackupFilter& f) {
  std::optional<std::string> volume_id, target_id;
  if (f.volume_id) {
    COFFER_ASSIGN_OR_RETURN(volume_id, IdForReference(*f.volume_id, "volume_id"));
  }
  if (f.target_id) {
    COFFER_ASSIGN_OR_RETURN(target_id, IdForReference(*f.target_id, "target_id"));
  }
  if (f.limit < 0) return InvalidArgument("limit is negative");
  auto opt = [](const std::optional<std::string>& s) {
    return s ? SqlParam(std::string_view(*s)) : SqlParam();
  };
  SqlParam status = f.status ? SqlParam(ToString(*f.status)) : SqlParam();
  return Tx<std::vector<Backup>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<Backup>> {
    const std::string sql = "SELECT " COFFER_BACKUP_COLUMNS " FROM backup WHERE " +
                            FilterOn(volume_id.has_value(), "volume_id", 1) + " AND " +
                            FilterOn(target_id.has_value(), "target_id", 2) + " AND " +
                            FilterOn(f.status.has_value(), "status", 3) +
                            " ORDER BY started_at_us DESC, id DESC LIMIT $4";
    COFFER_ASSIGN_OR_RETURN(auto res, c.Exec(sql, {opt(volume_id), opt(target_id), status,
                                                   f.limit > 0 ? f.limit : kNoLimit}));
    return DecodeBackups(res);
  });
}

Result<int64_t> SqlMetaStore::NewBackupAttempt(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  return Tx<int64_t>(TxKind::kWrite, [&](SqlConn& c) -> Result<int64_t> {
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE backup SET attempt = attempt + 1, agent_job_id = '',"
                                   " heartbeat_at_us = $2 WHERE id = $1 AND status = 'running'",
                                   {id, Now()}));
    if (upd.affected == 0) {
      COFFER_ASSIGN_OR_RETURN(Backup b, LoadBackup(c, id));
      return Conflict("backup " + id + " is " + std::string(ToString(b.status)) + ", not running");
    }
    return QueryInt(c, "SELECT attempt FROM backup WHERE id = $1", {id});
  });
}

Status SqlMetaStore::SetBackupAgentJob(std::string_view id_in, int64_t attempt,
                                       std::string_view agent_job_id) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE backup SET agent_job_id = $3, heartbeat_at_us = $4"
                                   " WHERE id = $1 AND attempt = $2 AND status = 'running'",
                                   {id, attempt, agent_job_id, Now()}));
    if (upd.affected == 0) return ExplainFenceMiss(c, id, attempt);
    return {};
  });
}

Status SqlMetaStore::HeartbeatBackup(std::string_view id_in, int64_t attempt) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE backup SET heartbeat_at_us = $3"
                                   " WHERE id = $1 AND attempt = $2 AND status = 'running'",
                                   {id, attempt, Now()}));
    if (upd.affected == 0) return ExplainFenceMiss(c, id, attempt);
    return {};
  });
}

Result<Backup> SqlMetaStore::CompleteBackup(std::string_view id_in, int64_t attempt,
                                            const BackupStats& s, int64_t duration_ms) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  COFFER_RETURN_IF_ERROR(CheckStats(s));
  if (duration_ms < 0) return InvalidArgument("duration_ms is negative");
  return Tx<Backup>(TxKind::kWrite, [&](SqlConn& c) -> Result<Backup> {
    const int64_t now = Now();
    COFFER_ASSIGN_OR_RETURN(
        auto upd,
        c.Exec("UPDATE backup SET status = 'completed', logical_bytes = $3, zero_bytes = $4,"
               " new_bytes = $5, stored_bytes = $6, chunks = $7, new_chunks = $8,"
               " finished_at_us = $9, heartbeat_at_us = $9, duration_ms = $10, error = ''"
               " WHERE id = $1 AND attempt = $2 AND status = 'running'",
               {id, attempt, s.logical_bytes, s.zero_bytes, s.new_bytes, s.stored_bytes, s.chunks,
                s.new_chunks, now, duration_ms}));
    if (upd.affected == 0) return ExplainFenceMiss(c, id, attempt);
    return LoadBackup(c, id);
  });
}

Result<Backup> SqlMetaStore::FailBackup(std::string_view id, int64_t attempt,
                                        std::string_view error) {
  // Every heartbeat is older than the end of time.
  return FailSilentBackup(id, attempt, std::numeric_limits<int64_t>::max(), error);
}

Result<Backup> SqlMetaStore::FailSilentBackup(std::string_view id_in, int64_t attempt,
                                              int64_t silent_since_us, std::string_view error) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  if (error.empty()) return InvalidArgument("a failed backup needs a reason");
  return Tx<Backup>(TxKind::kWrite, [&](SqlConn& c) -> Result<Backup> {
    const int64_t now = Now();
    COFFER_ASSIGN_OR_RETURN(
        auto upd, c.Exec("UPDATE backup SET status = 'failed', error = $3, finished_at_us = $4,"
                         " duration_ms = ($4 - started_at_us) / 1000"
                         " WHERE id = $1 AND attempt = $2 AND status = 'running'"
                         " AND heartbeat_at_us < $5",
                         {id, attempt, error, now, silent_since_us}));
    if (upd.affected == 0) {
      COFFER_ASSIGN_OR_RETURN(Backup b, LoadBackup(c, id));
      if (b.status == BackupStatus::kRunning && b.attempt == attempt) {
        return Conflict("backup " + id + " was heard from since it was found silent");
      }
      return ExplainFenceMiss(c, id, attempt);
    }
    return LoadBackup(c, id);
  });
}

Result<std::vector<Backup>> SqlMetaStore::ListSilentBackups(int64_t silent_since_us) {
  return Tx<std::vector<Backup>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<Backup>> {
    COFFER_ASSIGN_OR_RETURN(auto res, c.Exec("SELECT " COFFER_BACKUP_COLUMNS " FROM backup"
                                             " WHERE status = 'running' AND heartbeat_at_us < $1"
                                             " ORDER BY heartbeat_at_us, id",
                                             {silent_since_us}));
    return DecodeBackups(res);
  });
}

Status SqlMetaStore::DeleteBackup(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(Backup b, LoadBackup(c, id));
    if (b.status == BackupStatus::kRunning) return Conflict("backup " + id + " is still running");
    return Done(c.Exec("DELETE FROM backup WHERE id = $1", {id}));
  });
}

Status SqlMetaStore::ImportBackup(const Backup& in) {
  if (in.status != BackupStatus::kCompleted) {
    return InvalidArgument("only a completed backup can be imported");
  }
  COFFER_RETURN_IF_ERROR(CheckStats(in.stats));
  if (in.id.empty()) return InvalidArgument("an imported backup needs its uuid");
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForCreate(in.id, "backup"));
  COFFER_ASSIGN_OR_RETURN(std::string volume_id, IdForReference(in.volume_id, "volume_id"));
  COFFER_ASSIGN_OR_RETURN(std::string target_id, IdForReference(in.target_id, "target_id"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT id FROM backup WHERE id = $1", {id}));
    if (taken) return AlreadyExists("backup " + id + " already exists");
    COFFER_ASSIGN_OR_RETURN(bool volume,
                            Exists(c, "SELECT id FROM volume WHERE id = $1", {volume_id}));
    if (!volume) return InvalidArgument("volume_id " + volume_id + ": no such volume");
    COFFER_ASSIGN_OR_RETURN(bool target,
                            Exists(c, "SELECT id FROM backup_target WHERE id = $1", {target_id}));
    if (!target) return InvalidArgument("target_id " + target_id + ": no such backup target");
    const int64_t finished = in.finished_at_us.value_or(in.started_at_us);
    return Done(c.Exec(
        "INSERT INTO backup (id, volume_id, target_id, status, attempt, agent_job_id,"
        " logical_bytes, zero_bytes, new_bytes, stored_bytes, chunks, new_chunks, started_at_us,"
        " heartbeat_at_us, finished_at_us, duration_ms, error)"
        " VALUES ($1, $2, $3, 'completed', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14,"
        " '')",
        {id, volume_id, target_id, in.attempt, in.agent_job_id, in.stats.logical_bytes,
         in.stats.zero_bytes, in.stats.new_bytes, in.stats.stored_bytes, in.stats.chunks,
         in.stats.new_chunks, in.started_at_us, finished, in.duration_ms}));
  });
}

// ---- GC runs ----------------------------------------------------------------

Result<GcRun> SqlMetaStore::LoadGcRun(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("SELECT " COFFER_GC_RUN_COLUMNS " FROM backup_gc_run WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no GC run " + id);
  return DecodeGcRun(res.rows[0]);
}

Result<GcRun> SqlMetaStore::CreateGcRun(std::string_view target_in) {
  COFFER_ASSIGN_OR_RETURN(std::string target_id, IdForLookup(target_in, "backup target"));
  GcRun g;
  g.id = NewId();
  g.target_id = target_id;
  g.started_at_us = Now();
  COFFER_RETURN_IF_ERROR(Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_RETURN_IF_ERROR(LoadTarget(c, target_id));
    return Done(
        c.Exec("INSERT INTO backup_gc_run (id, target_id, status, started_at_us)"
               " VALUES ($1, $2, 'running', $3)",
               {g.id, target_id, g.started_at_us}));
  }));
  return g;
}

Result<GcRun> SqlMetaStore::FinishGcRun(std::string_view id_in, const GcRunResult& r) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "GC run"));
  if (r.status == GcRunStatus::kRunning) return InvalidArgument("a finished GC run is not running");
  if (r.chunks_deleted < 0 || r.bytes_deleted < 0) {
    return InvalidArgument("GC run counts must not be negative");
  }
  return Tx<GcRun>(TxKind::kWrite, [&](SqlConn& c) -> Result<GcRun> {
    COFFER_ASSIGN_OR_RETURN(
        auto upd,
        c.Exec("UPDATE backup_gc_run SET status = $2, finished_at_us = $3,"
               " chunks_deleted = $4, bytes_deleted = $5, error = $6"
               " WHERE id = $1 AND status = 'running'",
               {id, ToString(r.status), Now(), r.chunks_deleted, r.bytes_deleted, r.error}));
    if (upd.affected == 0) {
      COFFER_ASSIGN_OR_RETURN(GcRun g, LoadGcRun(c, id));
      return Conflict("GC run " + id + " is " + std::string(ToString(g.status)) + " already");
    }
    if (!r.lease_holder.empty()) {
      COFFER_RETURN_IF_ERROR(
          Done(c.Exec("DELETE FROM target_lease WHERE target_id ="
                      " (SELECT target_id FROM backup_gc_run WHERE id = $1) AND holder = $2",
                      {id, r.lease_holder})));
    }
    return LoadGcRun(c, id);
  });
}

Result<GcRun> SqlMetaStore::GetGcRun(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "GC run"));
  return Tx<GcRun>(TxKind::kRead, [&](SqlConn& c) { return LoadGcRun(c, id); });
}

Result<std::vector<GcRun>> SqlMetaStore::ListGcRuns(std::string_view target_in, int64_t limit) {
  COFFER_ASSIGN_OR_RETURN(std::string target_id, IdForLookup(target_in, "backup target"));
  if (limit < 0) return InvalidArgument("limit is negative");
  return Tx<std::vector<GcRun>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<GcRun>> {
    COFFER_RETURN_IF_ERROR(LoadTarget(c, target_id));
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_GC_RUN_COLUMNS " FROM backup_gc_run"
                         " WHERE target_id = $1 ORDER BY started_at_us DESC, id DESC LIMIT $2",
                         {target_id, limit > 0 ? limit : kNoLimit}));
    std::vector<GcRun> out;
    for (const auto& row : res.rows) {
      COFFER_ASSIGN_OR_RETURN(auto g, DecodeGcRun(row));
      out.push_back(std::move(g));
    }
    return out;
  });
}

}  // namespace coffer::meta::sql
