// SqlMetaStore: restores (DESIGN §4: a restore survives a restart).
#include <limits>

#include "base/text.h"
#include "meta/sql/sql_meta_store.h"

namespace coffer::meta::sql {

#define COFFER_RESTORE_COLUMNS                                            \
  "id, backup_id, volume_id, agent_id, agent_job_id, state, total_bytes," \
  " done_bytes, result, error, started_at_us, heartbeat_at_us, finished_at_us"

namespace {

Result<Restore> DecodeRestore(const SqlRow& row) {
  RowReader r(row);
  Restore x;
  x.id = r.Text();
  x.backup_id = r.Text();
  x.volume_id = r.Text();
  x.agent_id = r.Text();
  x.agent_job_id = r.Text();
  std::string state = r.Text();
  x.total_bytes = r.Int();
  x.done_bytes = r.Int();
  x.result = r.Text();
  x.error = r.Text();
  x.started_at_us = r.Int();
  x.heartbeat_at_us = r.Int();
  x.finished_at_us = r.OptInt();
  if (!r.ok()) return Corruption("malformed restore row " + x.id);
  COFFER_ASSIGN_OR_RETURN(x.state, ParseRestoreState(state));
  return x;
}

std::unexpected<Error> Ended(const Restore& r) {
  return Conflict("restore " + r.id + " is " + std::string(ToString(r.state)) + ", not running");
}

}  // namespace

Result<Restore> SqlMetaStore::LoadRestore(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("SELECT " COFFER_RESTORE_COLUMNS " FROM restore WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no restore " + id);
  return DecodeRestore(res.rows[0]);
}

Result<Restore> SqlMetaStore::CreateRestore(const NewRestore& in) {
  if (in.id.empty()) return InvalidArgument("a new restore needs its uuid");
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForCreate(in.id, "restore"));
  COFFER_ASSIGN_OR_RETURN(std::string volume_id, IdForReference(in.volume_id, "volume_id"));
  COFFER_ASSIGN_OR_RETURN(std::string agent_id, IdForReference(in.agent_id, "agent_id"));
  if (in.backup_id.empty()) return InvalidArgument("backup_id is required");
  return Tx<Restore>(TxKind::kWrite, [&](SqlConn& c) -> Result<Restore> {
    COFFER_RETURN_IF_ERROR(LoadVolume(c, volume_id));
    const int64_t now = Now();
    COFFER_RETURN_IF_ERROR(Done(
        c.Exec("INSERT INTO restore (id, backup_id, volume_id, agent_id, agent_job_id, state,"
               " started_at_us, heartbeat_at_us) VALUES ($1, $2, $3, $4, $5, 'running', $6, $6)",
               {id, in.backup_id, volume_id, agent_id, in.agent_job_id, now})));
    return LoadRestore(c, id);
  });
}

Result<Restore> SqlMetaStore::GetRestore(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "restore"));
  return Tx<Restore>(TxKind::kRead, [&](SqlConn& c) { return LoadRestore(c, id); });
}

Result<std::vector<Restore>> SqlMetaStore::ListRestores(const RestoreFilter& f) {
  std::optional<std::string> volume_id;
  if (f.volume_id) {
    COFFER_ASSIGN_OR_RETURN(volume_id, IdForReference(*f.volume_id, "volume_id"));
  }
  if (f.limit < 0) return InvalidArgument("limit is negative");
  SqlParam volume = volume_id ? SqlParam(std::string_view(*volume_id)) : SqlParam();
  SqlParam state = f.state ? SqlParam(ToString(*f.state)) : SqlParam();
  const int64_t limit = f.limit > 0 ? f.limit : std::numeric_limits<int64_t>::max();
  return Tx<std::vector<Restore>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<Restore>> {
    const std::string sql = "SELECT " COFFER_RESTORE_COLUMNS " FROM restore WHERE " +
                            FilterOn(volume_id.has_value(), "volume_id", 1) + " AND " +
                            FilterOn(f.state.has_value(), "state", 2) +
                            " ORDER BY started_at_us DESC, id DESC LIMIT $3";
    COFFER_ASSIGN_OR_RETURN(auto res, c.Exec(sql, {volume, state, limit}));
    std::vector<Restore> out;
    for (const auto& row : res.rows) {
      COFFER_ASSIGN_OR_RETURN(Restore r, DecodeRestore(row));
      out.push_back(std::move(r));
    }
    return out;
  });
}

Status SqlMetaStore::UpdateRestoreProgress(std::string_view id_in, int64_t total_bytes,
                                           int64_t done_bytes) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "restore"));
  if (total_bytes < 0 || done_bytes < 0) return InvalidArgument("progress must not be negative");
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE restore SET total_bytes = $2, done_bytes = $3,"
                                   " heartbeat_at_us = $4 WHERE id = $1 AND state = 'running'",
                                   {id, total_bytes, done_bytes, Now()}));
    if (upd.affected > 0) return {};
    COFFER_ASSIGN_OR_RETURN(Restore r, LoadRestore(c, id));
    return Ended(r);
  });
}

Result<Restore> SqlMetaStore::FinishRestore(std::string_view id_in, RestoreState state,
                                            std::string_view result, std::string_view error) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "restore"));
  if (state == RestoreState::kRunning) return InvalidArgument("a restore ends completed or failed");
  if (state == RestoreState::kFailed && error.empty()) {
    return InvalidArgument("a failed restore needs a reason");
  }
  return Tx<Restore>(TxKind::kWrite, [&](SqlConn& c) -> Result<Restore> {
    const int64_t now = Now();
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE restore SET state = $2, result = $3, error = $4,"
                                   " finished_at_us = $5, heartbeat_at_us = $5"
                                   " WHERE id = $1 AND state = 'running'",
                                   {id, ToString(state), result, error, now}));
    COFFER_ASSIGN_OR_RETURN(Restore r, LoadRestore(c, id));
    if (upd.affected == 0) return Ended(r);
    return r;
  });
}

}  // namespace coffer::meta::sql
