// SqlMetaStore: volumes and their backup schedules.
#include "meta/sql/sql_meta_store.h"

namespace coffer::meta::sql {

#define COFFER_VOLUME_COLUMNS                                                   \
  "id, name, agent_id, backend, locator, size_bytes, backup_target_id,"         \
  " backup_cron, backup_retain_count, pre_backup_command, post_backup_command," \
  " hook_timeout_seconds, created_at_us"

namespace {

Result<Volume> DecodeVolume(const SqlRow& row) {
  RowReader r(row);
  Volume v;
  v.id = r.Text();
  v.name = r.Text();
  v.agent_id = r.Text();
  std::string backend = r.Text();
  v.locator = r.Text();
  v.size_bytes = r.Int();
  v.backup_target_id = r.OptText();
  v.backup_cron = r.Text();
  v.backup_retain_count = int(r.Int());
  v.hooks.pre_backup_command = r.Text();
  v.hooks.post_backup_command = r.Text();
  v.hooks.timeout_seconds = r.Int();
  v.created_at_us = r.Int();
  if (!r.ok()) return Corruption("malformed volume row " + v.id);
  COFFER_ASSIGN_OR_RETURN(v.backend, ParseVolumeBackend(backend));
  return v;
}

Status CheckVolumeFields(const Volume& v) {
  COFFER_RETURN_IF_ERROR(CheckName(v.name, "volume"));
  if (v.locator.empty()) return InvalidArgument("volume locator is empty");
  if (v.size_bytes < 0) return InvalidArgument("volume size_bytes is negative");
  if (v.backup_retain_count < 0) return InvalidArgument("backup_retain_count is negative");
  if (v.hooks.timeout_seconds <= 0) return InvalidArgument("hook timeout_seconds must be positive");
  return {};
}

// A volume's schedule may name only an existing target.
Status CheckTargetRef(SqlConn& c, const std::optional<std::string>& target_id) {
  if (!target_id) return {};
  COFFER_ASSIGN_OR_RETURN(bool ok,
                          Exists(c, "SELECT id FROM backup_target WHERE id = $1", {*target_id}));
  if (!ok) return InvalidArgument("backup_target_id " + *target_id + ": no such backup target");
  return {};
}

Status WriteVolume(SqlConn& c, const Volume& v) {
  SqlParam target =
      v.backup_target_id ? SqlParam(std::string_view(*v.backup_target_id)) : SqlParam();
  return Done(c.Exec(
      "UPDATE volume SET name = $2, locator = $3, size_bytes = $4, backup_target_id = $5,"
      " backup_cron = $6, backup_retain_count = $7, pre_backup_command = $8,"
      " post_backup_command = $9, hook_timeout_seconds = $10 WHERE id = $1",
      {v.id, v.name, v.locator, v.size_bytes, target, v.backup_cron, int64_t(v.backup_retain_count),
       v.hooks.pre_backup_command, v.hooks.post_backup_command, v.hooks.timeout_seconds}));
}

}  // namespace

Result<Volume> SqlMetaStore::LoadVolume(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("SELECT " COFFER_VOLUME_COLUMNS " FROM volume WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no volume " + id);
  return DecodeVolume(res.rows[0]);
}

Result<Volume> SqlMetaStore::CreateVolume(const Volume& in) {
  Volume v = in;
  COFFER_RETURN_IF_ERROR(CheckVolumeFields(v));
  COFFER_ASSIGN_OR_RETURN(v.id, IdForCreate(in.id, "volume"));
  COFFER_ASSIGN_OR_RETURN(v.agent_id, IdForReference(in.agent_id, "agent_id"));
  if (v.backup_target_id) {
    COFFER_ASSIGN_OR_RETURN(v.backup_target_id,
                            IdForReference(*in.backup_target_id, "backup_target_id"));
  }
  v.created_at_us = Now();
  COFFER_RETURN_IF_ERROR(Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto taken, c.Exec("SELECT id FROM volume WHERE id = $1 OR name = $2", {v.id, v.name}));
    if (!taken.rows.empty()) {
      if (taken.rows[0][0] == v.id) return AlreadyExists("volume " + v.id + " already exists");
      return AlreadyExists("a volume named '" + v.name + "' already exists");
    }
    COFFER_ASSIGN_OR_RETURN(bool agent,
                            Exists(c, "SELECT id FROM agent WHERE id = $1", {v.agent_id}));
    if (!agent) return InvalidArgument("agent_id " + v.agent_id + ": no such agent");
    COFFER_RETURN_IF_ERROR(CheckTargetRef(c, v.backup_target_id));
    SqlParam target =
        v.backup_target_id ? SqlParam(std::string_view(*v.backup_target_id)) : SqlParam();
    return Done(c.Exec(
        "INSERT INTO volume (id, name, agent_id, backend, locator, size_bytes, backup_target_id,"
        " backup_cron, backup_retain_count, pre_backup_command, post_backup_command,"
        " hook_timeout_seconds, created_at_us)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        {v.id, v.name, v.agent_id, ToString(v.backend), v.locator, v.size_bytes, target,
         v.backup_cron, int64_t(v.backup_retain_count), v.hooks.pre_backup_command,
         v.hooks.post_backup_command, v.hooks.timeout_seconds, v.created_at_us}));
  }));
  return v;
}

Result<Volume> SqlMetaStore::GetVolume(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "volume"));
  return Tx<Volume>(TxKind::kRead, [&](SqlConn& c) { return LoadVolume(c, id); });
}

Result<std::vector<Volume>> SqlMetaStore::ListVolumes() {
  return Tx<std::vector<Volume>>(TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<Volume>> {
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_VOLUME_COLUMNS " FROM volume ORDER BY name, id", {}));
    std::vector<Volume> out;
    for (const auto& row : res.rows) {
      COFFER_ASSIGN_OR_RETURN(auto v, DecodeVolume(row));
      out.push_back(std::move(v));
    }
    return out;
  });
}

Result<Volume> SqlMetaStore::UpdateVolume(std::string_view id_in, const VolumePatch& p) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "volume"));
  return Tx<Volume>(TxKind::kWrite, [&](SqlConn& c) -> Result<Volume> {
    COFFER_ASSIGN_OR_RETURN(Volume v, LoadVolume(c, id));
    if (p.name && *p.name != v.name) {
      COFFER_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT id FROM volume WHERE name = $1",
                                                 {std::string_view(*p.name)}));
      if (taken) return AlreadyExists("a volume named '" + *p.name + "' already exists");
      v.name = *p.name;
    }
    if (p.locator) v.locator = *p.locator;
    if (p.size_bytes) v.size_bytes = *p.size_bytes;
    if (p.hooks) v.hooks = *p.hooks;
    COFFER_RETURN_IF_ERROR(CheckVolumeFields(v));
    COFFER_RETURN_IF_ERROR(WriteVolume(c, v));
    return v;
  });
}

Result<Volume> SqlMetaStore::SetVolumeSchedule(std::string_view id_in, const VolumeSchedule& s) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "volume"));
  std::optional<std::string> target;
  if (s.backup_target_id) {
    COFFER_ASSIGN_OR_RETURN(target, IdForReference(*s.backup_target_id, "backup_target_id"));
  }
  if (s.backup_retain_count < 0) return InvalidArgument("backup_retain_count is negative");
  return Tx<Volume>(TxKind::kWrite, [&](SqlConn& c) -> Result<Volume> {
    COFFER_ASSIGN_OR_RETURN(Volume v, LoadVolume(c, id));
    COFFER_RETURN_IF_ERROR(CheckTargetRef(c, target));
    v.backup_target_id = target;
    v.backup_cron = s.backup_cron;
    v.backup_retain_count = s.backup_retain_count;
    COFFER_RETURN_IF_ERROR(WriteVolume(c, v));
    return v;
  });
}

Status SqlMetaStore::DeleteVolume(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "volume"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_RETURN_IF_ERROR(LoadVolume(c, id));
    COFFER_ASSIGN_OR_RETURN(int64_t backups,
                            QueryInt(c, "SELECT count(*) FROM backup WHERE volume_id = $1", {id}));
    if (backups > 0) {
      return Conflict("volume " + id + " has " + std::to_string(backups) +
                      " backup(s); delete them first");
    }
    COFFER_ASSIGN_OR_RETURN(
        int64_t restoring,
        QueryInt(c, "SELECT count(*) FROM restore WHERE volume_id = $1 AND state = 'running'",
                 {id}));
    if (restoring > 0) {
      return Conflict("volume " + id + " is being written by a restore; wait for it to end");
    }
    COFFER_RETURN_IF_ERROR(Done(c.Exec("DELETE FROM restore WHERE volume_id = $1", {id})));
    return Done(c.Exec("DELETE FROM volume WHERE id = $1", {id}));
  });
}

}  // namespace coffer::meta::sql
